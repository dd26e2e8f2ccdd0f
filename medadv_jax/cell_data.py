"""The plain data a study's cells hand to the report: the cell and its folder
name, the results version, the attacks' labels in rows, and the examples file.

Evaluation and the study write these; reporting reads them back. Kept in one
low module so that reporting needs neither the study nor the evaluation.
"""

import dataclasses
import pathlib
import zipfile
from typing import Optional

import numpy as np

from medadv_jax import atomic_files

# Bumped by every code change that alters a cell's numbers for the same config,
# so that a workdir resumed across such a change stops (`runner.StaleCellError`)
# instead of mixing cells the old and new code made. Cells made before the field
# existed record none.
RESULTS_VERSION = 8
# Fingerprint field that holds RESULTS_VERSION.
RESULTS_VERSION_FIELD = 'results_version'
# A few attacked images of a cell's model, for the gallery and saliency figures.
EXAMPLES_FILE = 'examples.npz'
# Penultimate features of clean and adversarial test images, for the boundary figure.
EMBEDDING_FILE = 'embedding.npz'
# What the cell's data source held (`data.summary.describe`), for the report.
DATA_SUMMARY_FILE = 'data_summary.json'
# Why a cell that did not finish failed ({'error': one line}), for the report.
FAILED_FILE = 'failed.json'
# Each cell's attack audit (evaluation/audit.py), read by reporting/inputs/audits.py.
AUDIT_FILE = 'audit.json'


@dataclasses.dataclass(frozen=True)
class Cell:
  """One trained-and-attacked model: dataset x model x size x mode x seed."""
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


_ATTACK_TITLES = {'fgsm': 'FGSM', 'pgd': 'PGD', 'pgd_l2': 'PGD-L2', 'apgd_ce': 'APGD-CE',
                  'apgd_dlr': 'APGD-DLR', 'square': 'Square', 'fab': 'FAB'}


def attack_label(row) -> str:
  """E.g. 'PGD-20, untargeted', 'APGD-DLR-100 x3, least-likely', 'Square-1000, untargeted';
  the per-image worst case over attacks is 'Ensemble (per image)' (L2: 'Ensemble L2 ...'),
  and with the strong attack 'Strong + paper attacks (per image)'."""
  if row['attack'] == 'ensemble':
    return 'Ensemble' + (' L2' if row.get('norm') == 'l2' else '') + ' (per image)'
  if row['attack'] == 'strong':
    return 'Strong + paper attacks (per image)'
  name = _ATTACK_TITLES.get(row['attack'], row['attack'].upper())
  if row['attack'] != 'fgsm':
    name += f'-{row["steps"]}'
  if int(row.get('restarts') or 1) > 1:
    name += f' x{row["restarts"]}'
  return f'{name}, {row["target"].replace("_", "-")}'


def save_examples(path: pathlib.Path, examples: dict[str, np.ndarray]) -> None:
  """Writes `examples` as a compressed npz, atomically (no pickled objects)."""
  with atomic_files.atomic_path(path) as tmp:
    # A file object, because np.savez would append '.npz' to the temporary name.
    with open(tmp, 'wb') as f:
      np.savez_compressed(f, **{k: np.asarray(v) for k, v in examples.items()})


def load_examples(path: pathlib.Path) -> dict[str, np.ndarray]:
  """The dict `save_examples` wrote; DamagedFileError if it no longer reads back."""
  try:
    with np.load(path, allow_pickle=False) as data:
      return {name: data[name] for name in data.files}
  except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
    raise atomic_files.damaged(path, f'does not read as .npz ({e})') from None


def load_cells_examples(workdir: pathlib.Path, cell_names, file_name: str
                        ) -> dict[str, dict[str, np.ndarray]]:
  """Cell name -> `load_examples` of workdir/cells/<name>/<file_name>, for the named
  cells that have that file (cells finished before it existed have none)."""
  paths = {name: pathlib.Path(workdir) / 'cells' / name / file_name for name in cell_names}
  return {name: load_examples(path) for name, path in paths.items() if path.exists()}
