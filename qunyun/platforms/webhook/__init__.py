"""The generic signed webhook: any bridge can feed Qunyun records and receive actions."""
