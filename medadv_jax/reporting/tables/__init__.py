"""Markdown and CSV tables of the results, descriptive only."""
