"""The stream: typed, immutable records of what happened in the groups, stored once."""
