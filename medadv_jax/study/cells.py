"""The cells a config asks for, and the fingerprint that says what made each one.

A cell (`cell_data.Cell`) is one trained-and-attacked model: dataset x model x
size x mode x seed."""

import dataclasses
import json
import os

from medadv_jax import cell_data
from medadv_jax.data import image_folder


def expand_cells(config) -> list[cell_data.Cell]:
  """Every cell the config asks for, in a fixed order."""
  depths = tuple(config.model.depths) or (None,)
  return [cell_data.Cell(config.data.name, name, float(width), depth, mode, int(seed))
          for name in config.model.names
          for depth in depths
          for width in config.model.widths
          for mode in config.train.modes
          for seed in config.seeds]


def cell_fingerprint(config, cell: cell_data.Cell) -> dict:
  """Everything that determines a cell's numbers, as plain JSON data.

  That includes `cell_data.RESULTS_VERSION`, since code changes alter numbers too. Where a
  MedMNIST file lives and whether it may be downloaded do not change the numbers
  (the file's MD5 is checked), so they are left out, as are the sweep lists that
  only say which cells exist. An image folder has no checksum, nor has a file
  read with verify_md5 off: there the folder (absolute path) is part of it.
  """
  data = config.data.to_dict()
  for field in ('cache_dir', 'download', 'tfds_dir'):
    data.pop(field, None)
  if data.get('verify_md5', True) and data['name'] not in image_folder.FOLDER_DATASETS:
    data.pop('dir', None)
  elif data.get('dir'):
    data['dir'] = os.path.abspath(os.path.expanduser(data['dir']))
  train = config.train.to_dict()
  # Which cells exist, and how often to save or log, do not change the numbers.
  for field in ('modes', 'checkpoint_every_steps', 'checkpoint_min_steps', 'keep_checkpoints',
                'log_every_steps'):
    train.pop(field, None)
  return json.loads(json.dumps({
      cell_data.RESULTS_VERSION_FIELD: cell_data.RESULTS_VERSION,
      'cell': dataclasses.asdict(cell),
      'data': data,
      'train': train,
      'attack': config.attack.to_dict(),
  }))


def fingerprint_differences(old: dict, new: dict, prefix: str = '') -> list[str]:
  """Dotted names of the fields whose values differ between two fingerprints."""
  differences = []
  for key in sorted(set(old) | set(new)):
    a, b = old.get(key), new.get(key)
    if isinstance(a, dict) and isinstance(b, dict):
      differences += fingerprint_differences(a, b, f'{prefix}{key}.')
    elif a != b:
      differences.append(f'{prefix}{key}: {a!r} -> {b!r}')
  return differences
