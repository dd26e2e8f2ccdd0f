"""Training a cell group, the seeds of one model and training mode, as one program.

The seeds' train states are stacked on a leading seed axis and trained by one
vmapped step (`group_steps`); each seed keeps what it has alone: its own
training split, batch order, initial weights and PRNG keys (the same as
`loop.train_model` gives it), its own validation, best weights and early
stopping. A seed that stops is frozen by a mask while the others go on; its
stop reason and step count are its own. Each seed writes its metrics to its own
run folder; the group's checkpoints (every seed's state, best weights and
counters in one step, so a kill cannot leave seeds at different steps) go to
the group folder and resume to the numbers of an uninterrupted run.

A seed trained in a group need not match, bit for bit, the same seed trained
alone or in a group of another size or layout: vmapping changes the order of
float operations (docs/scaling.md says which layouts are bitwise identical).
"""

import dataclasses
import pathlib
import time
from typing import Sequence

import jax
import numpy as np
from absl import logging

from medadv_jax.attacks import from_config
from medadv_jax.data import pipeline
from medadv_jax.data.augment import AugmentSettings
from medadv_jax.data.dataset import Dataset
from medadv_jax.errors import ConfigError
from medadv_jax.runtime import devices
from medadv_jax.training import (checkpointing, group_steps, length, loop, metrics_writer,
                                 optim, progress, resume, steps, validation)
from medadv_jax.training.run_meta import RunMeta
from medadv_jax.training.running_means import RunningMeans
from medadv_jax.training.train_state import create_train_state


@dataclasses.dataclass(frozen=True)
class Member:
  """One seed of a group: its dataset (split for it) and its cell's run folder."""
  seed: int
  dataset: Dataset
  run_dir: pathlib.Path


def layout(n_seeds: int, mesh=None) -> dict:
  """The group layout a cell's provenance records: group size, devices, slots
  (the seed axis padded to a multiple of the devices) and seeds per device."""
  mesh = mesh or devices.run_mesh()
  slots = -(-n_seeds // mesh.size) * mesh.size
  return {'group_size': n_seeds, 'devices': mesh.size, 'slots': slots,
          'seeds_per_device': slots // mesh.size}


def train_group(model, members: Sequence[Member], train_config, mode: str,
                group_dir: pathlib.Path, mesh=None, augment=None):
  """Trains every member's seed of `model` together, resuming from `group_dir`.

  Every member's training split must have the same size (one program).
  Returns one (best variables as numpy arrays, `RunMeta`) per member, in order,
  as `loop.train_model` returns them for one seed.
  """
  if mode not in steps.TRAIN_MODES:
    raise ConfigError('train.modes', mode, ', '.join(steps.TRAIN_MODES))
  group_dir = pathlib.Path(group_dir)
  run = _GroupRun(model, tuple(members), train_config, mode, group_dir,
                  mesh or devices.run_mesh(), augment or AugmentSettings())
  return loop.run_to_end(run, group_dir / 'checkpoints')


def _on_host(fn):
  """`fn` applied to NumPy copies of the leaves (PRNG keys through their key
  data): eager stacking on the devices would compile a program per leaf shape."""
  def apply(*leaves):
    if jax.dtypes.issubdtype(leaves[0].dtype, jax.dtypes.prng_key):
      return jax.random.wrap_key_data(apply(*map(jax.random.key_data, leaves)),
                                      impl=jax.random.key_impl(leaves[0]))
    return fn(*(np.asarray(leaf) for leaf in leaves))
  return apply


def _stack(trees):
  """The members' trees stacked on a leading axis, on the host."""
  return jax.tree_util.tree_map(_on_host(lambda *leaves: np.stack(leaves)), *trees)


def _pad(tree, pad: int):
  """`tree` with its first member repeated `pad` more times along the leading axis."""
  return jax.tree_util.tree_map(
      _on_host(lambda a: np.concatenate([a, np.repeat(a[:1], pad, axis=0)])), tree)


def _shared(arrays: Sequence[np.ndarray]) -> bool:
  """Whether every seed reads the same array (the official split)."""
  return all(a is arrays[0] for a in arrays[1:])


class _GroupRun:
  """The state of one group between steps; `run()` drives it to the end."""

  def __init__(self, model, members, config, mode, group_dir, mesh, augment):
    self.members, self.config, self.mode = members, config, mode
    self.group_dir, self.mesh = group_dir, mesh
    self.adversarial = mode in steps.ADVERSARIAL_MODES
    sizes = {m.dataset.train_labels.shape[0] for m in members}
    if len(sizes) != 1:
      raise ValueError(f'a group\'s training splits differ in size: {sorted(sizes)}')
    self.n_train = sizes.pop()
    self.batch_size = loop.global_batch_size(config.batch_size, self.n_train, 1)
    self.steps_per_epoch = self.n_train // self.batch_size
    self.length = length.plan(config, self.steps_per_epoch)
    self.slots = layout(len(members), mesh)['slots']
    schedule = optim.learning_rate_schedule(config, self.steps_per_epoch,
                                            self.length.max_epochs)
    plateau_tx = optim.make_plateau(config)
    tx = optim.make_optimizer(config, schedule)
    keys = [jax.random.split(jax.random.key(m.seed), 3) for m in members]
    self.step_keys = self._place(_stack([k[1] for k in keys]))
    self.val_keys = self._place(_stack([k[2] for k in keys]))
    image_shape = members[0].dataset.image_shape
    self.host_state = _stack([create_train_state(model, tx, image_shape, k[0], plateau_tx)
                              for k in keys])
    self.state = self._place(self.host_state)
    self.best = self._place(self.host_state.variables)
    self.metas = [RunMeta(steps_per_epoch=self.steps_per_epoch) for _ in members]
    self.epoch_means = [RunningMeans() for _ in members]
    self.window_means = [RunningMeans() for _ in members]
    self.epoch = self.batch = 0  # Where the seeds still training stand.
    self._load_data()
    self.checkpointer = checkpointing.Checkpointer(group_dir / 'checkpoints',
                                                   max_to_keep=config.keep_checkpoints)
    self._restore()
    # The newest checkpoint's step (0: none).
    self.saved_step = self.epoch * self.steps_per_epoch + self.batch
    enabled = jax.process_index() == 0
    self.writers = [metrics_writer.MetricsWriter(m.run_dir, resume_step=meta.step,
                                                 enabled=enabled)
                    for m, meta in zip(members, self.metas)]
    self.train_step = group_steps.make_group_train_step(
        mode, config, schedule, mesh, self.steps_per_epoch, augment, self.shared_train)
    self.plateau_update = group_steps.make_group_plateau_update(plateau_tx, mesh)
    robust_val = self.adversarial or config.robust_val_standard
    self.validator = validation.GroupValidator(
        model, mesh, config.eval_batch_size,
        from_config.training_pgd(config.adv) if robust_val else None,
        config.adv.eps_255 / 255.0, shared=self.shared_val)

  def _place(self, tree):
    """A stacked tree (leading axis: the members) padded to `slots` seeds by
    repeating the first (padding seeds never train) and split over the mesh."""
    pad = self.slots - len(self.members)
    if pad:
      tree = _pad(tree, pad)
    return devices.shard_leading(tree, self.mesh)

  def _padded(self, arrays):
    return np.stack(list(arrays) + [arrays[0]] * (self.slots - len(arrays)))

  def _load_data(self):
    datasets = [m.dataset for m in self.members]
    train_images = [d.train_images for d in datasets]
    self.shared_train = _shared(train_images) and _shared([d.train_labels for d in datasets])
    self.shared_val = (_shared([d.val_images for d in datasets])
                       and _shared([d.val_labels for d in datasets]))
    if self.shared_train:
      self.train_data = devices.replicate((train_images[0], datasets[0].train_labels),
                                          self.mesh)
    else:
      self.train_data = devices.shard_leading(
          (self._padded(train_images), self._padded([d.train_labels for d in datasets])),
          self.mesh)
    if self.shared_val:
      self.val_data = (datasets[0].val_images, datasets[0].val_labels)
    else:
      self.val_data = (self._padded([d.val_images for d in datasets]),
                       self._padded([d.val_labels for d in datasets]))

  def active(self) -> list[bool]:
    """Which members still train."""
    return [meta.stop_reason is None and meta.epoch < self.length.max_epochs
            for meta in self.metas]

  def run(self):
    total = self.length.max_epochs * self.steps_per_epoch
    bar = progress.Progress(self.group_dir.name, total, self.epoch * self.steps_per_epoch
                            + self.batch, items_per_unit=self.batch_size * len(self.members),
                            interval_s=loop.PROGRESS_INTERVAL_S)
    while any(self.active()):
      started = time.perf_counter()
      first_batch = self.batch
      self._train_epoch(bar)
      train_seconds = time.perf_counter() - started
      images = (self.steps_per_epoch - first_batch) * self.batch_size
      self._end_epoch(train_seconds, images / train_seconds, bar)
    self.metas = [meta if meta.stop_reason else
                  dataclasses.replace(meta, stop_reason=self.length.cap_reason)
                  for meta in self.metas]
    best = devices.to_host(self.best)
    return [(jax.tree_util.tree_map(lambda a, s=s: a[s], best), meta)
            for s, meta in enumerate(self.metas)]

  def close(self):
    for writer in self.writers:
      writer.close()
    self.checkpointer.close()

  def _mask(self, flags) -> jax.Array:
    return devices.shard_leading(self._padded_flags(flags), self.mesh)

  def _padded_flags(self, flags) -> np.ndarray:
    return np.asarray(list(flags) + [False] * (self.slots - len(flags)))

  def _train_epoch(self, bar):
    epoch, spe = self.epoch, self.steps_per_epoch
    active = self.active()
    order = np.stack([pipeline.epoch_batches(self.n_train, self.batch_size, m.seed, epoch)
                      for m in self.members]).astype(np.int32)
    order = devices.shard_leading(self._padded(list(order)), self.mesh)
    mask = self._mask(active)
    log_every, save_every = self.config.log_every_steps, self.config.checkpoint_every_steps
    pending = []
    for b in range(self.batch, spe):
      self.state, metrics = self.train_step(self.state, self.step_keys, mask, order,
                                            np.int32(b), *self.train_data)
      step = epoch * spe + b + 1
      pending.append((step, metrics))
      log_now = log_every and step % log_every == 0
      save_now = save_every and step % save_every == 0 and b + 1 < spe
      if log_now or save_now or b + 1 == spe:
        self._absorb(pending, active)
        pending = []
      if log_now:
        self._write_windows(step, active)
      if save_now:
        self.batch = b + 1
        self.metas = [dataclasses.replace(meta, batch=b + 1, step=step) if on else meta
                      for meta, on in zip(self.metas, active)]
        self._save(step)
      bar.update(step, f'epoch {epoch + 1}/{self.length.max_epochs}')

  def _absorb(self, pending, active):
    """Checks and accumulates each training seed's step metrics; raises on NaN or inf."""
    for (step, _), metrics in zip(pending, devices.to_host([m for _, m in pending])):
      for s, on in enumerate(active):
        if not on:
          continue
        values = {name: value[s] for name, value in metrics.items()}
        bad = sorted(name for name, value in values.items() if not np.isfinite(value))
        if bad:
          raise loop.TrainingDivergedError(
              f'{self.members[s].run_dir.name}: {", ".join(bad)} not finite at step {step} '
              f'(trained in group {self.group_dir.name}, whose last good checkpoint is kept '
              f'in {self.group_dir / "checkpoints"}). Lower train.learning_rate or check '
              'the data.')
        self.epoch_means[s].add(values)
        self.window_means[s].add(values)

  def _write_windows(self, step, active):
    for s, on in enumerate(active):
      if on:
        scalars = {f'train/{n}': v for n, v in self.window_means[s].means().items()}
        scalars['epoch'] = step / self.steps_per_epoch
        self.writers[s].write(step, scalars)
        self.window_means[s] = RunningMeans()

  def _end_epoch(self, train_seconds, images_per_second, bar):
    """Every training seed's validation, plateau, best weights, stopping and metrics;
    then one checkpoint of the group."""
    active = self.active()
    epoch = self.epoch + 1
    step = epoch * self.steps_per_epoch
    started = time.perf_counter()
    vals = self.validator(self.state.variables, *self.val_data, self.val_keys)
    val_seconds = time.perf_counter() - started
    scores = [val['robust_accuracy'] if self.adversarial else val['accuracy'] for val in vals]
    if self.config.plateau.patience:
      name = 'robust_loss' if self.adversarial else 'loss'
      losses = devices.shard_leading(
          np.asarray([val[name] for val in vals], np.float32), self.mesh)
      self.state = self.state.replace(plateau=self.plateau_update(
          self.state.plateau, losses, self._mask(active)))
    improved = [on and score > meta.best_score
                for on, score, meta in zip(active, scores, self.metas)]
    if any(improved):
      self.best = group_steps.keep_best(self.best, self.state.variables, self._mask(improved))
    for s, on in enumerate(active):
      if on:
        self._end_member_epoch(s, epoch, step, vals[s], scores[s], improved[s],
                               train_seconds, val_seconds, images_per_second)
    self.epoch, self.batch = epoch, 0
    if checkpointing.epoch_end_due(step, self.saved_step, self.config.checkpoint_min_steps,
                                   last=not any(self.active())):
      self._save(step)
    bar.update(step, force=True, extra=f'epoch {epoch}/{self.length.max_epochs}, '
               f'{sum(self.active())} of {len(self.members)} seeds training')

  def _end_member_epoch(self, s, epoch, step, val, score, improved, train_seconds,
                        val_seconds, images_per_second):
    meta = self.metas[s]
    if improved:
      meta = dataclasses.replace(meta, best_epoch=epoch, best_score=score)
    reason = self._stop_reason(s, meta, epoch, score)
    train = self.epoch_means[s].means()
    summary = dict(epoch=epoch, step=step, **train,
                   **{f'val_{name}': value for name, value in val.items()},
                   val_score=score, seconds=train_seconds + val_seconds,
                   images_per_second=images_per_second)
    writer = self.writers[s]
    writer.write(step, {
        'epoch': epoch, **{f'train_epoch/{n}': v for n, v in train.items()},
        **{f'val/{n}': v for n, v in val.items()}, 'val/score': score,
        'perf/train_images_per_second': images_per_second,
        'perf/train_seconds': train_seconds, 'perf/val_seconds': val_seconds})
    if reason:
      writer.write(step, {
          'length/min_epochs': self.length.min_epochs,
          'length/max_epochs': self.length.max_epochs,
          'length/patience_epochs': self.length.patience_epochs,
          'length/epochs_run': epoch, 'length/best_epoch': meta.best_epoch,
          'length/stop_reason': reason})
    kept = None if reason == self.length.cap_reason else reason
    self.metas[s] = dataclasses.replace(meta, epoch=epoch, batch=0, step=step,
                                        history=meta.history + (summary,), stop_reason=kept)
    self.epoch_means[s] = RunningMeans()

  def _stop_reason(self, s, meta, epoch, score):
    adv = self.config.adv
    if (self.mode == 'fgsm_rs' and adv.overfit_drop
        and meta.best_score - score > adv.overfit_drop):
      logging.warning('%s: catastrophic overfitting at epoch %d; stopping and keeping the '
                      'epoch-%d weights.', self.members[s].run_dir.name, epoch,
                      meta.best_epoch)
      return length.CATASTROPHIC_OVERFITTING
    return length.stop_reason(self.length, epoch, meta.best_epoch)

  def _document(self) -> dict:
    """The checkpoint's JSON: the group's position and every member's counters."""
    running = [{'epoch': e.to_json(), 'window': w.to_json()}
               for e, w in zip(self.epoch_means, self.window_means)]
    return {'seeds': [m.seed for m in self.members], 'steps_per_epoch': self.steps_per_epoch,
            'epoch': self.epoch, 'batch': self.batch,
            'running': [meta.to_json(r) for meta, r in zip(self.metas, running)]}

  def _save(self, step):
    for writer in self.writers:
      writer.flush()  # Rows up to `step` are on disk before the checkpoint is.
    n = len(self.members)
    arrays = devices.to_host({'state': self.state, 'best': self.best})
    # Only the members, on the host: a checkpoint restores on any device layout.
    arrays = jax.tree_util.tree_map(lambda a: a[:n], arrays)
    self.checkpointer.save(step, arrays, self._document())
    self.saved_step = step

  def _restore(self):
    template = {'state': devices.to_host(self.host_state),
                'best': devices.to_host(self.host_state.variables)}
    restored = resume.restore_newest_good(self.checkpointer, template, self._check_meta,
                                          self.group_dir.name)
    if restored is None:
      return
    arrays, document = restored
    self.state, self.best = self._place(arrays['state']), self._place(arrays['best'])
    self.epoch, self.batch = document['epoch'], document['batch']
    for s, member in enumerate(document['running']):
      self.metas[s], running = RunMeta.from_json(member)
      self.epoch_means[s] = RunningMeans.from_json(running['epoch'])
      self.window_means[s] = RunningMeans.from_json(running['window'])
    logging.info('resumed group %s at epoch %d, batch %d', self.group_dir.name,
                 self.epoch, self.batch)

  def _check_meta(self, document):
    seeds = [m.seed for m in self.members]
    if (document.get('steps_per_epoch') != self.steps_per_epoch
        or document.get('seeds') != seeds):
      self.checkpointer.close()
      raise loop.IncompatibleCheckpointError(
          f'{self.group_dir / "checkpoints"} holds a group of seeds '
          f'{document.get("seeds")} with {document.get("steps_per_epoch")} steps per epoch; '
          f'this one has seeds {seeds} with {self.steps_per_epoch}. Use a new --workdir or '
          'delete it.')
