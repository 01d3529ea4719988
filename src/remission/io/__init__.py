"""File output helpers."""
