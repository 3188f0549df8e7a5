"""Backups that run themselves and prove they restore (see services.py)."""
