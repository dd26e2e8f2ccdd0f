"""Data: the MedMNIST 2D catalogue and files, the paper's image folders, split
protocols, tfds builders, augmentation and the sharded input pipeline."""
