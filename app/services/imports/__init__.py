"""Bringing work in from Word and Excel files."""
