"""Data: MedMNIST files, validation, splits and in-memory arrays."""
