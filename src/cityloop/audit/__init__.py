"""Audit: the tamper-evident case history and the log of administrative changes."""
