"""Runs a study: every cell of the config, each skipped if already finished."""

import dataclasses
import json
import os
import pathlib
import time

from absl import logging

from medadv_jax import config_validation
from medadv_jax.data.dataset import load_dataset
from medadv_jax.errors import MedAdvError
from medadv_jax.evaluation.robustness import evaluate_model
from medadv_jax.models import complexity, registry
from medadv_jax.reporting import write_outputs
from medadv_jax.study import cells as cells_lib
from medadv_jax.training.loop import train_model

RESULTS_FILE = 'results.json'
FINGERPRINT_FILE = 'cell_config.json'


class StaleCellError(MedAdvError):
  """A workdir holds a cell made with different settings."""


def run_study(config, workdir: pathlib.Path) -> list[dict]:
  """Trains and attacks every cell, then writes tables, figure and report.

  Returns the results rows of all cells.
  """
  config_validation.validate(config)
  workdir = pathlib.Path(workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  _write_json_atomic(workdir / 'config.json', json.loads(config.to_json_best_effort()))
  cells = cells_lib.expand_cells(config)
  dataset = None  # Loaded on first need: a fully finished study needs no data.
  rows = []
  started = time.perf_counter()
  for index, cell in enumerate(cells):
    cell_dir = workdir / 'cells' / cell.name
    _check_fingerprint(cell_dir, cells_lib.cell_fingerprint(config, cell))
    if (cell_dir / RESULTS_FILE).exists():
      logging.info('[%d/%d] %s finished earlier; skipped', index + 1, len(cells), cell.name)
      rows += json.loads((cell_dir / RESULTS_FILE).read_text())
      continue
    dataset = dataset or load_dataset(config.data)
    logging.info('[%d/%d] %s', index + 1, len(cells), cell.name)
    cell_rows = run_cell(config, cell, dataset, cell_dir)
    _write_json_atomic(cell_dir / RESULTS_FILE, cell_rows)
    rows += cell_rows
    elapsed = time.perf_counter() - started
    logging.info('[%d/%d] done, %.0fs elapsed', index + 1, len(cells), elapsed)
  write_outputs.write_all(rows, workdir)
  return rows


def run_cell(config, cell: cells_lib.Cell, dataset, cell_dir: pathlib.Path) -> list[dict]:
  """Trains the cell's model (resuming if possible) and attacks it."""
  model = registry.get_model(cell.model, num_classes=dataset.num_classes,
                             width=cell.width, depth=cell.depth)
  variables, meta = train_model(model, dataset, config.train, cell.train_mode,
                                cell.seed, cell_dir)
  params = complexity.count_params(variables['params'])
  flops = complexity.forward_flops_per_image(model, variables, dataset.image_shape)
  cell_columns = dict(dataclasses.asdict(cell), params=params, flops=flops,
                      best_epoch=meta['best_epoch'], val_score=meta['best_score'])
  return [dict(cell_columns, **row)
          for row in evaluate_model(model, variables, dataset, config, cell.seed)]


def _check_fingerprint(cell_dir: pathlib.Path, fingerprint: dict) -> None:
  path = cell_dir / FINGERPRINT_FILE
  if path.exists():
    differences = cells_lib.fingerprint_differences(json.loads(path.read_text()),
                                                    fingerprint)
    if differences:
      raise StaleCellError(
          f'{cell_dir} was made with other settings ({"; ".join(differences)}). '
          'Use a new --workdir for the new settings, or delete that folder to redo it.')
  else:
    _write_json_atomic(path, fingerprint)


def _write_json_atomic(path: pathlib.Path, data) -> None:
  """Writes beside the target, then renames: a kill never leaves half a file."""
  path.parent.mkdir(parents=True, exist_ok=True)
  tmp = path.with_name(path.name + '.tmp')
  tmp.write_text(json.dumps(data, indent=1))
  os.replace(tmp, path)
