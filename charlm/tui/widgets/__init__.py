"""Reusable widgets of the charlm app (each carries its own DEFAULT_CSS)."""
