"""Evaluation of trained models: clean accuracy and robustness over eps grids."""
