"""Persistence: conversations and their attachments in SQLite in the data directory."""
