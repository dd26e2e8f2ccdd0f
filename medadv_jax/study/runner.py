"""Runs a study: every cell of the config (or the one `config.cell` selects),
each skipped if already finished, then aggregates whatever cells are finished."""

import contextlib
import dataclasses
import json
import pathlib
import time

import jax
from absl import logging

from medadv_jax import atomic_files, cell_data, environment
from medadv_jax.data.augment import AugmentSettings
from medadv_jax.data.dataset import load_dataset, load_raw_splits, split_seed
from medadv_jax.errors import ConfigError, DamagedFileError, MedAdvError
from medadv_jax.evaluation import examples
from medadv_jax.evaluation.robustness import evaluate_model_with_details, sanity_summary
from medadv_jax.models import complexity, registry
from medadv_jax.reporting import per_image_data, verdict, write_outputs
from medadv_jax.runtime import compilation_cache
from medadv_jax.study import (cells as cells_lib, config_validation, groups, locks,
                              workdir_checks)
from medadv_jax.training import group_loop
from medadv_jax.training.loop import check_batch_splits, train_model

RESULTS_FILE = 'results.json'
# Each attacked image's minimal fooling radius per attack (robustness.per_image_min_eps).
PER_IMAGE_FILE = per_image_data.FILE_NAME
FINGERPRINT_FILE = 'cell_config.json'
SANITY_FILE = 'sanity.json'
# Seconds per stage of the cell's run (train, clean, certify, paper_attacks, ...).
TIMING_FILE = 'timing.json'


class StaleCellError(MedAdvError):
  """A workdir holds a cell made with different settings."""


class WorkdirError(MedAdvError):
  """The workdir is a file, or cannot be created or written."""

  @classmethod
  def unusable(cls, workdir: pathlib.Path, error: OSError) -> 'WorkdirError':
    return cls(f'--workdir={str(workdir)!r} cannot hold the study ({error}); allowed: a '
               'folder this user can create, or an existing one it can write to.')


def run_study(config, workdir: pathlib.Path) -> list[dict]:
  """Trains and attacks every cell, then writes tables, figure and report.

  Returns the results rows of all cells.
  """
  config_validation.validate(config)
  compilation_cache.enable(config.compilation_cache_dir)
  # Needs the devices of every host, so not in config_validation, which the
  # launchers run before jax.distributed is set up.
  check_batch_splits(config.train.batch_size, jax.device_count())
  workdir = pathlib.Path(workdir)
  cells = cells_lib.expand_cells(config)
  selected = _selected_cells(config, cells)
  fingerprints = {cell: cells_lib.cell_fingerprint(config, cell) for cell in cells}
  # Every cell already in the workdir is checked before anything is written, so
  # a refused run leaves the workdir as it was, config.json included.
  for cell in cells:
    _check_fingerprint(workdir / 'cells' / cell.name, fingerprints[cell])
  workdir_checks.check_study_folder(workdir)
  with contextlib.ExitStack() as held:
    if _writes_files():
      try:
        workdir.mkdir(parents=True, exist_ok=True)
        if config.cell == -1:  # One cell alone is a sweep's worker: its cell lock suffices.
          held.enter_context(locks.study_lock(workdir))
      except OSError as e:
        raise WorkdirError.unusable(workdir, e) from None
    return _run_cells(config, workdir, held, selected, fingerprints)


def _run_cells(config, workdir: pathlib.Path, held: contextlib.ExitStack, selected,
               fingerprints) -> list[dict]:
  """run_study once the workdir is checked and locked; `held` keeps each cell's
  lock from the moment this process starts the cell until the study ends."""
  cells = list(fingerprints)
  try:
    workdir.mkdir(parents=True, exist_ok=True)
    _write_json_atomic(workdir / 'config.json', json.loads(config.to_json_best_effort()))
  except OSError as e:
    raise WorkdirError.unusable(workdir, e) from None
  # Loaded on first need: a fully finished study needs no data. The source is
  # read and decoded once; the pooled protocol re-splits it for each seed.
  data = _SeedData(config.data)
  started = time.perf_counter()
  for group in _work_units(config, selected):
    pending = []
    for index, cell in group:
      cell_dir = workdir / 'cells' / cell.name
      if not (cell_dir / RESULTS_FILE).exists() and _writes_files():
        # Refused if another process runs the cell; it may have finished it since.
        held.enter_context(locks.cell_lock(workdir, cell.name))
      if (cell_dir / RESULTS_FILE).exists():
        logging.info('[%d/%d] %s finished earlier; skipped', index + 1, len(cells), cell.name)
        continue
      # Re-checked: another process of a sweep may have started the cell since.
      _check_fingerprint(cell_dir, fingerprints[cell])
      if not (cell_dir / FINGERPRINT_FILE).exists():
        _write_json_atomic(cell_dir / FINGERPRINT_FILE, fingerprints[cell])
      pending.append((index, cell))
    trained = (_train_group(config, workdir, [cell for _, cell in pending], data)
               if groups.trains_together(config) and pending else {})
    for index, cell in pending:
      cell_dir = workdir / 'cells' / cell.name
      logging.info('[%d/%d] %s', index + 1, len(cells), cell.name)
      cell_rows = run_cell(config, cell, data.dataset(cell.seed), cell_dir,
                           trained.get(cell.seed))
      _write_json_atomic(cell_dir / SANITY_FILE, sanity_summary(cell_rows))
      _write_json_atomic(cell_dir / RESULTS_FILE, cell_rows)
      elapsed = time.perf_counter() - started
      logging.info('[%d/%d] done, %.0fs elapsed', index + 1, len(cells), elapsed)
  rows = collect_finished_rows(config, workdir)
  if _writes_files():
    write_outputs.write_all(rows, workdir, verdict.Margins.from_config(config))
  return rows


def collect_finished_rows(config, workdir: pathlib.Path) -> list[dict]:
  """Rows of every cell of `config` finished in `workdir`, in the config's cell order.

  Cells still running elsewhere (launchers spread cells over processes and
  machines) are left out; the log says how many are missing.
  """
  cells = cells_lib.expand_cells(config)
  rows, finished = [], 0
  for cell in cells:
    cell_dir = pathlib.Path(workdir) / 'cells' / cell.name
    if (cell_dir / RESULTS_FILE).exists():
      _check_fingerprint(cell_dir, cells_lib.cell_fingerprint(config, cell))
      cell_rows = atomic_files.read_json(cell_dir / RESULTS_FILE)
      _check_sanity_file(cell_dir, cell_rows)
      rows += cell_rows
      finished += 1
  if finished < len(cells):
    logging.info('aggregated %d of %d cells; the others are not finished yet',
                 finished, len(cells))
  return rows


def _check_sanity_file(cell_dir: pathlib.Path, cell_rows: list[dict]) -> None:
  """Writes sanity.json again if it is missing or does not read back: it is
  derived from the cell's results rows, so nothing is lost."""
  path = cell_dir / SANITY_FILE
  try:
    atomic_files.read_json(path)
  except (DamagedFileError, FileNotFoundError) as e:
    logging.warning('%s: %s; written again from the cell\'s results',
                    path, 'missing' if isinstance(e, FileNotFoundError) else 'damaged')
    _write_json_atomic(path, sanity_summary(cell_rows))


def _selected_cells(config, cells):
  """(index, cell) pairs to run: all, or the one `config.cell` names (with
  `config.seed_groups`, every cell of its group)."""
  if config.cell == -1:
    return list(enumerate(cells))
  if not 0 <= config.cell < len(cells):
    raise ConfigError('cell', config.cell,
                      f'-1 (every cell) or an index in 0..{len(cells) - 1} '
                      f'(this config has {len(cells)} cells)')
  if groups.selects_groups(config):
    return groups.group_of(cells, config.cell)
  return [(config.cell, cells[config.cell])]


def _work_units(config, selected):
  """The selected cells by group (`config.seed_groups`), else one by one."""
  return (groups.by_group(selected) if groups.selects_groups(config)
          else [[pair] for pair in selected])


class _SeedData:
  """Each seed's dataset, loaded on first need: the source is read and decoded
  once; the pooled protocol re-splits it for each seed, the official split is
  one dataset for every seed (one object, so a group shares it)."""

  def __init__(self, data_config):
    self.data_config, self.raw, self.loaded = data_config, None, {}

  def dataset(self, seed: int):
    key = split_seed(self.data_config, seed)
    if key not in self.loaded:
      self.raw = self.raw or load_raw_splits(self.data_config)
      self.loaded[key] = load_dataset(self.data_config, seed, self.raw)
    return self.loaded[key]


def _train_group(config, workdir: pathlib.Path, pending, data) -> dict:
  """Trains the seeds of `pending` (cells of one group) by `groups.plan`; returns
  {seed: (variables, meta, layout, seconds)} for the seeds of `pending`."""
  first = pending[0]
  name = groups.group_name(first)
  model = registry.get_model(first.model, num_classes=data.dataset(first.seed).num_classes,
                             width=first.width, depth=first.depth)
  augment = AugmentSettings.from_config(config.data.augment,
                                        data.dataset(first.seed).label_names)
  wanted = {cell.seed for cell in pending}
  trained = {}
  for seeds in groups.plan(workdir, name, [cell.seed for cell in pending]):
    started = time.perf_counter()
    members = [group_loop.Member(seed, data.dataset(seed), workdir / 'cells' /
                                 dataclasses.replace(first, seed=seed).name)
               for seed in seeds]
    logging.info('training group %s: seeds %s as one program', name, list(seeds))
    outcomes = group_loop.train_group(model, members, config.train, first.train_mode,
                                      groups.folder(workdir, name, seeds), augment=augment)
    share = (time.perf_counter() - started) / len(seeds)
    layout = dict(group_loop.layout(len(seeds)), grouped=True, group_seeds=list(seeds))
    for seed, (variables, meta) in zip(seeds, outcomes):
      if seed in wanted:
        trained[seed] = (variables, meta, layout, share)
  return trained


def run_cell(config, cell: cell_data.Cell, dataset, cell_dir: pathlib.Path,
             trained=None) -> list[dict]:
  """Trains the cell's model (resuming if possible) and attacks it; `trained`:
  (variables, meta, layout, seconds) of a group's training, which it then skips.

  Writes the per-image minimal radii to PER_IMAGE_FILE and the software and
  hardware to environment.FILE_NAME; returns the results rows,
  which the caller writes last (RESULTS_FILE marks the cell finished).
  """
  started = time.perf_counter()
  model = registry.get_model(cell.model, num_classes=dataset.num_classes,
                             width=cell.width, depth=cell.depth)
  if trained is None:
    augment = AugmentSettings.from_config(config.data.augment, dataset.label_names)
    variables, meta = train_model(model, dataset, config.train, cell.train_mode,
                                  cell.seed, cell_dir, augment=augment)
    layout = {'grouped': False, 'devices': jax.device_count()}  # Data parallel, alone.
    # Training resumed from a checkpoint counts only this sitting's part.
    timing = {'train': time.perf_counter() - started}
  else:  # The cell's share of its group's training.
    variables, meta, layout, seconds = trained
    timing = {'train': seconds}
    started -= seconds
  params = complexity.count_params(variables['params'])
  flops = complexity.forward_flops_per_image(model, variables, dataset.image_shape)
  cell_columns = dict(dataclasses.asdict(cell), params=params, flops=flops,
                      best_epoch=meta.best_epoch, val_score=meta.best_score,
                      epochs_run=meta.epoch, steps_run=meta.step,
                      stop_reason=meta.stop_reason)
  rows, per_image = evaluate_model_with_details(model, variables, dataset, config,
                                                cell.seed, training=meta, timing=timing)
  _write_json_atomic(cell_dir / PER_IMAGE_FILE, per_image)
  # The environment that attacked the model (and finished training it).
  # The layout of its training too (not in the fingerprint: numbers move only by rounding).
  _write_json_atomic(cell_dir / environment.FILE_NAME,
                     dict(environment.describe(), training_layout=layout))
  if _writes_files():  # A few attacked images and saliency maps for the figures.
    lap = time.perf_counter()
    examples.write_cell_examples(cell_dir / cell_data.EXAMPLES_FILE, model, variables,
                                 dataset, config, cell.seed)
    timing['examples'] = time.perf_counter() - lap
  timing['total'] = time.perf_counter() - started
  _write_json_atomic(cell_dir / TIMING_FILE, {k: round(v, 2) for k, v in timing.items()})
  return [dict(cell_columns, **row) for row in rows]


def _check_fingerprint(cell_dir: pathlib.Path, fingerprint: dict) -> None:
  """Raises StaleCellError if the cell folder was made with other settings, or
  holds results without saying what made them; writes nothing."""
  path = cell_dir / FINGERPRINT_FILE
  if not path.exists():
    if (cell_dir / RESULTS_FILE).exists():
      raise StaleCellError(
          f'{cell_dir} holds results but no {FINGERPRINT_FILE}, so nothing says which '
          'settings and which version of medadv-jax made them. Use a new --workdir, or '
          'delete that folder to redo it.')
    return
  stored = atomic_files.read_json(path)
  differences = cells_lib.fingerprint_differences(stored, fingerprint)
  if differences:
    field = cell_data.RESULTS_VERSION_FIELD
    why = ('Its results version differs: another version of medadv-jax, whose numbers '
           'differ from this one\'s, made it. '
           if stored.get(field) != fingerprint[field] else '')
    raise StaleCellError(
        f'{cell_dir} was made with other settings ({"; ".join(differences)}). {why}'
        'Use a new --workdir for the new settings, or delete that folder to redo it.')


def _writes_files() -> bool:
  """Only process 0 of a multi-host run writes results; the others compute alongside."""
  return jax.process_index() == 0


def _write_json_atomic(path: pathlib.Path, data) -> None:
  if _writes_files():
    atomic_files.write_text(path, json.dumps(data, indent=1))
