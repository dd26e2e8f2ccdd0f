"""Timing scripts: each prints a table and writes its figures as JSON (see README.md)."""
