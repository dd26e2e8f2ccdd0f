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
from medadv_jax.data import summary as data_summary
from medadv_jax.data.augment import AugmentSettings
from medadv_jax.data.dataset import load_dataset, load_raw_splits, split_seed
from medadv_jax.errors import ConfigError, DamagedFileError, MedAdvError
from medadv_jax.evaluation import embedding, examples
from medadv_jax.evaluation.robustness import evaluate, sanity_summary
from medadv_jax.models import complexity, registry
from medadv_jax.reporting import write_outputs
from medadv_jax.reporting.claims import plan as plan_lib
from medadv_jax.reporting.inputs import coverage, per_image_data
from medadv_jax.runtime import compilation_cache
from medadv_jax.study import (cells as cells_lib, config_validation, groups, locks,
                              model_probe, workdir_checks)
from medadv_jax.training import group_loop
from medadv_jax.training.loop import TrainingDivergedError, check_batch_splits, train_model

RESULTS_FILE = 'results.json'
# Each attacked image's minimal fooling radius per attack (robustness.per_image_min_eps).
PER_IMAGE_FILE = per_image_data.FILE_NAME
FINGERPRINT_FILE = 'cell_config.json'
SANITY_FILE = 'sanity.json'
# Seconds per stage of the cell's run (train, clean, certify, paper_attacks, ...).
TIMING_FILE = 'timing.json'


class StaleCellError(MedAdvError):
  """A workdir holds a cell made with different settings."""


class CellsFailedError(MedAdvError):
  """Some cells failed (the others ran, and the report covers them)."""


# What fails one cell alone: the study goes on with the others, and exits 1 at the end.
CELL_FAILURES = (TrainingDivergedError,)


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
  model_probe.check_imported_models(config)  # One batch each, before the workdir.
  workdir = pathlib.Path(workdir)
  cells = cells_lib.expand_cells(config)
  selected = _selected_cells(config, cells)
  fingerprints = {cell: cells_lib.cell_fingerprint(config, cell) for cell in cells}
  # Every cell already in the workdir is checked before anything is written, so
  # a refused run leaves the workdir as it was, config.json included.
  for cell in cells:
    _check_fingerprint(workdir / 'cells' / cell.name, fingerprints[cell])
  workdir_checks.check_study_folder(workdir)
  check_plan(workdir, config)
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
    _write_json_atomic(workdir / plan_lib.FILE_NAME,
                       plan_lib.Plan.from_config(config.analysis).as_dict())
  except OSError as e:
    raise WorkdirError.unusable(workdir, e) from None
  # Loaded on first need: a fully finished study needs no data. The source is
  # read and decoded once; the pooled protocol re-splits it for each seed.
  data = _SeedData(config.data)
  failed = {}
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
      replaced = _check_fingerprint(cell_dir, fingerprints[cell])
      if replaced:
        logging.info('%s computed nothing with its earlier settings (%s); they are replaced',
                     cell.name, '; '.join(replaced))
      if not (cell_dir / FINGERPRINT_FILE).exists() or replaced:
        _write_json_atomic(cell_dir / FINGERPRINT_FILE, fingerprints[cell])
      _write_json_atomic(cell_dir / cell_data.DATA_SUMMARY_FILE, data.summary(cell.seed))
      if _writes_files():
        (cell_dir / cell_data.FAILED_FILE).unlink(missing_ok=True)
      pending.append((index, cell))
    try:
      trained = (_train_group(config, workdir, [cell for _, cell in pending], data)
                 if groups.trains_together(config) and pending else {})
    except CELL_FAILURES as e:  # The group's program stopped: each of its cells failed.
      for index, cell in pending:
        _record_failure(failed, workdir / 'cells' / cell.name, cell, e, index, len(cells))
      continue
    for index, cell in pending:
      cell_dir = workdir / 'cells' / cell.name
      logging.info('[%d/%d] %s', index + 1, len(cells), cell.name)
      try:
        cell_rows = run_cell(config, cell, data.dataset(cell.seed), cell_dir,
                             trained.get(cell.seed))
      except CELL_FAILURES as e:
        _record_failure(failed, cell_dir, cell, e, index, len(cells))
        continue
      _write_json_atomic(cell_dir / SANITY_FILE, sanity_summary(cell_rows))
      _write_json_atomic(cell_dir / RESULTS_FILE, cell_rows)
      elapsed = time.perf_counter() - started
      logging.info('[%d/%d] done, %.0fs elapsed', index + 1, len(cells), elapsed)
  rows = collect_finished_rows(config, workdir)
  if _writes_files():
    write_outputs.write_all(rows, workdir, plan_lib.Plan.from_config(config.analysis))
  left_out = coverage.load(workdir, rows)['left_out']
  if left_out:
    logging.warning('%s', coverage.left_out_line(left_out))
  if failed:
    raise CellsFailedError(
        f'{len(failed)} of {len(selected)} cells failed ({"; ".join(failed.values())}); '
        'the others ran and report.md covers them; run the same command again to retry '
        'the failed ones')
  return rows


def check_plan(workdir: pathlib.Path, config) -> None:
  """Refuses a plan other than the one the workdir's study ran under: a plan is
  fixed before the data; another one is a re-analysis (launch/reanalyse.py)."""
  path = workdir / plan_lib.FILE_NAME
  if path.exists() and plan_lib.read(path) != plan_lib.Plan.from_config(config.analysis):
    raise ConfigError('analysis', plan_lib.Plan.from_config(config.analysis).name,
                      f'the plan in {path} (the one this study ran under); answer under '
                      'another plan with launch/reanalyse.py, which keeps both')


def _record_failure(failed: dict, cell_dir: pathlib.Path, cell, error, index: int,
                    count: int) -> None:
  """Notes a failed cell in `failed` and its folder's FAILED_FILE; the others go on."""
  failed[cell.name] = str(error)
  logging.error('[%d/%d] %s failed; the other cells go on: %s', index + 1, count, cell.name,
                error)
  _write_json_atomic(cell_dir / cell_data.FAILED_FILE, {'error': str(error)})


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
    self.data_config, self.raw, self.loaded, self.summaries = data_config, None, {}, {}

  def dataset(self, seed: int):
    key = split_seed(self.data_config, seed)
    if key not in self.loaded:
      self.raw = self.raw or load_raw_splits(self.data_config)
      self.loaded[key] = load_dataset(self.data_config, seed, self.raw)
      self.summaries[key] = data_summary.describe(self.data_config, self.raw,
                                                  self.loaded[key])
      logging.info('data: %s', data_summary.line(self.summaries[key]))
    return self.loaded[key]

  def summary(self, seed: int) -> dict:
    """What the seed's dataset read (`data.summary.describe`), for its cells."""
    self.dataset(seed)
    return self.summaries[split_seed(self.data_config, seed)]


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
  evaluation = evaluate(model, variables, dataset, config, cell.seed, training=meta)
  timing.update(evaluation.timing)
  rows = evaluation.rows
  _write_json_atomic(cell_dir / PER_IMAGE_FILE, evaluation.per_image)
  if evaluation.audit is not None:
    _write_json_atomic(cell_dir / cell_data.AUDIT_FILE, evaluation.audit)
  # The environment that attacked the model (and finished training it).
  # The layout of its training too (not in the fingerprint: numbers move only by rounding).
  _write_json_atomic(cell_dir / environment.FILE_NAME,
                     dict(environment.describe(), training_layout=layout))
  if _writes_files():  # A few attacked images and saliency maps for the figures.
    lap = time.perf_counter()
    examples.write_cell_examples(cell_dir / cell_data.EXAMPLES_FILE, model, variables,
                                 dataset, config, cell.seed)
    timing['examples'] = time.perf_counter() - lap
  if _writes_files() and config.report.embedding_images:  # The decision-boundary figure's.
    lap = time.perf_counter()
    embedding.write_cell_embedding(cell_dir / cell_data.EMBEDDING_FILE, model, variables,
                                   dataset, config, cell.seed)
    timing['embedding'] = time.perf_counter() - lap
  timing['total'] = time.perf_counter() - started
  _write_json_atomic(cell_dir / TIMING_FILE, {k: round(v, 2) for k, v in timing.items()})
  return [dict(cell_columns, **row) for row in rows]


def _check_fingerprint(cell_dir: pathlib.Path, fingerprint: dict) -> list[str]:
  """Raises StaleCellError if the cell folder was made with other settings, or
  holds results without saying what made them; writes nothing. Returns the
  settings that differ in a cell that computed nothing (they may be replaced)."""
  path = cell_dir / FINGERPRINT_FILE
  if not path.exists():
    if (cell_dir / RESULTS_FILE).exists():
      raise StaleCellError(
          f'{cell_dir} holds results but no {FINGERPRINT_FILE}, so nothing says which '
          'settings and which version of medadv-jax made them. Use a new --workdir, or '
          'delete that folder to redo it.')
    return []
  stored = atomic_files.read_json(path)
  differences = cells_lib.fingerprint_differences(stored, fingerprint)
  if differences and workdir_checks.computed_nothing(cell_dir, FINGERPRINT_FILE):
    return differences
  if differences:
    field = cell_data.RESULTS_VERSION_FIELD
    why = ('Its results version differs: another version of medadv-jax, whose numbers '
           'differ from this one\'s, made it. '
           if stored.get(field) != fingerprint[field] else '')
    raise StaleCellError(
        f'{cell_dir} was made with other settings ({"; ".join(differences)}). {why}'
        'Use a new --workdir for the new settings, or delete that folder to redo it.')
  return []


def _writes_files() -> bool:
  """Only process 0 of a multi-host run writes results; the others compute alongside."""
  return jax.process_index() == 0


def _write_json_atomic(path: pathlib.Path, data) -> None:
  if _writes_files():
    atomic_files.write_text(path, json.dumps(data, indent=1))
