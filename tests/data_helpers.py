"""Data for tests: a `config.data` reading local files only, and generated image folders."""

import pathlib

import ml_collections
from PIL import Image


def data_config(directory, **overrides) -> ml_collections.ConfigDict:
  """config.data reading from `directory`, never downloading; `overrides` replace fields."""
  config = ml_collections.ConfigDict(dict(
      name='pneumoniamnist', size=28, dir=str(directory), cache_dir=str(directory / 'cache'),
      download=False, verify_md5=False, train_limit=0, attack_per_class=0,
      split='official', split_fractions=(0.71, 0.145, 0.145), grey_to_rgb=False))
  config.update(overrides)
  return config


CLASSES = ('NORMAL', 'PNEUMONIA')


def make_chest_folder(root: pathlib.Path, per_class=(3, 2, 2), splits=True):
  """Kermany-style folder; NORMAL images are black, PNEUMONIA white, sizes vary."""
  for split, count in zip(('train', 'val', 'test'), per_class):
    for label, name in enumerate(CLASSES):
      folder = (root / split if splits else root) / name
      folder.mkdir(parents=True, exist_ok=True)
      for i in range(count):
        # Mixed modes and shapes, as in the real release (some X-rays are RGB JPEGs).
        mode = 'RGB' if i % 2 else 'L'
        image = Image.new(mode, (40 + 7 * i, 30 + 5 * i), 'white' if label else 'black')
        image.save(folder / f'{split}_{i}.{"png" if i % 2 else "jpeg"}')
  return root
