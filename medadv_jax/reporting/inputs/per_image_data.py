"""Reads the cells' per_image.json (`robustness.per_image_min_eps`): each attacked
image's smallest fooling radius per attack, and whether it was right when clean."""

import pathlib

import numpy as np

from medadv_jax import atomic_files, cell_data
from medadv_jax.reporting.inputs import result_rows

FILE_NAME = 'per_image.json'


def load(workdir: pathlib.Path, rows) -> dict:
  """{(size key, train mode, seed): per_image dict} for the cells of `rows` that have
  a FILE_NAME in workdir/cells/<cell name>/; cells finished before the file
  existed are left out (an empty dict if none has it)."""
  out, seen = {}, set()
  for r in rows:
    key = (result_rows.size_key(r), r['train_mode'], r['seed'])
    if key in seen:
      continue
    seen.add(key)
    path = pathlib.Path(workdir) / 'cells' / cell_data.Cell.from_row(r).name / FILE_NAME
    if path.exists():
      out[key] = atomic_files.read_json(path)
  return out


def worst_radius(entry: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """(test indices, clean correct, worst-attack fooling radius x 1/255; inf if
  no grid radius fools it) of one cell's per_image.json, over its L-inf attacks."""
  linf = [radii for label, radii in entry['min_eps_255'].items() if 'L2' not in label]
  stacked = np.array([[np.inf if r is None else r for r in radii] for radii in linf], float)
  return (np.asarray(entry['test_indices'], int), np.asarray(entry['clean_correct'], bool),
          stacked.min(0))
