"""Flax Linen classifiers whose size is set by a width multiplier (and depth)."""
