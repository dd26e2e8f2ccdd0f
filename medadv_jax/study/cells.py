"""A cell is one trained-and-attacked model: dataset x model x size x mode x seed."""

import dataclasses
import json
import os
from typing import Optional

from medadv_jax.data import image_folder

# Bumped by every code change that alters a cell's numbers for the same config,
# so that a workdir resumed across such a change stops (`runner.StaleCellError`)
# instead of mixing cells the old and new code made. Cells made before the field
# existed record none.
#   2: a 2x2 max-pool gives a tied window's gradient to its first maximum, as
#      nn.max_pool does (it was shared among the tied maxima).
#   3: data.grey_to_rgb stacks grey MedMNIST images (npz and tfds) to 3
#      channels too; it used to apply to image folders only.
#   4: sound max-pool certificates (the cascade's verdicts change where an
#      unsound one skipped an attack); the strong attack and the certificate
#      check add rows and sanity columns.
RESULTS_VERSION = 4
# Fingerprint field that holds RESULTS_VERSION.
RESULTS_VERSION_FIELD = 'results_version'


@dataclasses.dataclass(frozen=True)
class Cell:
  dataset: str
  model: str
  width: float
  depth: Optional[int]
  train_mode: str
  seed: int

  @property
  def name(self) -> str:
    """Folder name, unique per cell and readable in `ls`."""
    depth = '' if self.depth is None else f'_d{self.depth}'
    return (f'{self.dataset}_{self.model}{depth}_w{self.width:g}_{self.train_mode}'
            f'_s{self.seed}')

  @classmethod
  def from_row(cls, row) -> 'Cell':
    """The cell a results row came from (JSON rows and CSV rows, whose empty
    depth is '')."""
    depth = row.get('depth')
    return cls(row['dataset'], row['model'], float(row['width']),
               None if depth in (None, '') else int(depth), row['train_mode'],
               int(row['seed']))


def expand_cells(config) -> list[Cell]:
  """Every cell the config asks for, in a fixed order."""
  depths = tuple(config.model.depths) or (None,)
  return [Cell(config.data.name, name, float(width), depth, mode, int(seed))
          for name in config.model.names
          for depth in depths
          for width in config.model.widths
          for mode in config.train.modes
          for seed in config.seeds]


def cell_fingerprint(config, cell: Cell) -> dict:
  """Everything that determines a cell's numbers, as plain JSON data.

  That includes RESULTS_VERSION, since code changes alter numbers too. Where a
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
  for field in ('modes', 'checkpoint_every_steps', 'keep_checkpoints', 'log_every_steps'):
    train.pop(field, None)
  return json.loads(json.dumps({
      RESULTS_VERSION_FIELD: RESULTS_VERSION,
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
