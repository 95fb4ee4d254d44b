"""Enforcement: the rule book applied to the live stream, member reports, operator
actions on members, and the pages, API and CLI that show every case."""
