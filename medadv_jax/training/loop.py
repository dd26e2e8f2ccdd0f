"""The loop of one training run: resumable mid-epoch, deterministic, fail-fast on NaN.

Exact resume: the batch order and every PRNG key depend only on (seed,
epoch, batch index), and a checkpoint holds the train state, the best weights
and the partial metric sums, so a run killed at any point and restarted from
its last checkpoint ends with the same parameters and metrics as one never
interrupted.
"""

import contextlib
import dataclasses
import itertools
import pathlib
import signal
import threading
import time

import jax
import numpy as np
from absl import logging

from medadv_jax.attacks import from_config
from medadv_jax.data import pipeline
from medadv_jax.data.augment import AugmentSettings
from medadv_jax.errors import ConfigError, DiskFullError, MedAdvError
from medadv_jax.runtime import devices
from medadv_jax.training import (checkpointing, length, metrics_writer, optim, progress,
                                 resume, steps, validation)
from medadv_jax.training.run_meta import RunMeta
from medadv_jax.training.running_means import RunningMeans
from medadv_jax.training.train_state import create_train_state

TRAIN_MODES = steps.TRAIN_MODES
PROGRESS_INTERVAL_S = 30.0


class TrainingDivergedError(MedAdvError):
  """The loss or a norm became NaN or infinite."""


class IncompatibleCheckpointError(MedAdvError):
  """A run folder holds checkpoints this run cannot continue."""


def train_model(model, dataset, train_config, mode: str, seed: int,
                run_dir: pathlib.Path, mesh=None, augment=None):
  """Trains `model` on `dataset`, resuming from `run_dir` if a checkpoint is there.

  Selection keeps the weights of the epoch with the best validation score:
  clean accuracy for standard training, PGD accuracy for adversarial training.
  Writes checkpoints to run_dir/checkpoints and metrics to run_dir/metrics.jsonl
  and run_dir/tensorboard. `mesh` (default: every device) splits each batch.
  `augment` (`data.augment.AugmentSettings`; default none) is applied to every
  training batch on the devices.

  Returns:
    (best variables {'params', 'batch_stats'} as numpy arrays, `RunMeta`: the
    epochs run, best epoch and score, history and why it stopped early, if it did).
  """
  if mode not in TRAIN_MODES:
    raise ConfigError('train.modes', mode, ', '.join(TRAIN_MODES))
  run = _TrainingRun(model, dataset, train_config, mode, seed, pathlib.Path(run_dir),
                     mesh or devices.run_mesh(), augment or AugmentSettings())
  return run_to_end(run, pathlib.Path(run_dir) / 'checkpoints')


def run_to_end(run, checkpoint_dir: pathlib.Path):
  """`run.run()`, then `run.close()` whatever happens; an interrupted run leaves
  no half-written checkpoint behind."""
  stopped = False
  try:
    return run.run()
  except (KeyboardInterrupt, DiskFullError):
    stopped = True
    raise
  finally:
    # A second Ctrl-C must not cut the clean-up short (the handler in force is
    # restored afterwards).
    with sigint_ignored(stopped):
      run.close()
      if stopped:
        # Orbax leaves the step it was writing in a temporary folder (removed
        # once closed, so no write is still going on); the next start would
        # remove it too, but an interrupted run should leave none behind.
        checkpointing.remove_temporary(checkpoint_dir)


@contextlib.contextmanager
def sigint_ignored(ignore: bool):
  """Ignores SIGINT inside the block when `ignore` (in the main thread only,
  where signal handlers live), then restores the handler in force."""
  if not ignore or threading.current_thread() is not threading.main_thread():
    yield
    return
  previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
  try:
    yield
  finally:
    signal.signal(signal.SIGINT, previous)


def check_batch_splits(requested: int, n_devices: int) -> None:
  """Raises ConfigError unless `requested` splits evenly over `n_devices`."""
  if requested % n_devices:
    raise ConfigError('train.batch_size', requested,
                      f'a multiple of the number of devices ({n_devices})')


def global_batch_size(requested: int, n_train: int, n_devices: int) -> int:
  """The batch size used: at most the training set, split evenly over the devices."""
  check_batch_splits(requested, n_devices)
  size = min(requested, n_train // n_devices * n_devices)
  if size == 0:
    raise ConfigError('train.batch_size', requested,
                      f'a size that gives each of {n_devices} devices at least one of '
                      f'the {n_train} training images')
  return size


class _TrainingRun:
  """The state of one run between steps; `run()` drives it to the end."""

  def __init__(self, model, dataset, config, mode, seed, run_dir, mesh, augment):
    self.dataset, self.config, self.mode, self.seed = dataset, config, mode, seed
    self.run_dir, self.mesh = run_dir, mesh
    self.adversarial = mode in steps.ADVERSARIAL_MODES
    n_train = dataset.train_labels.shape[0]
    self.batch_size = global_batch_size(config.batch_size, n_train, mesh.size)
    self.steps_per_epoch = n_train // self.batch_size
    self.length = length.plan(config, self.steps_per_epoch)
    schedule = optim.learning_rate_schedule(config, self.steps_per_epoch,
                                            self.length.max_epochs)
    plateau_tx = optim.make_plateau(config)
    init_key, step_key, val_key = jax.random.split(jax.random.key(seed), 3)
    self.step_key, self.val_key = devices.replicate((step_key, val_key), mesh)
    # The same (seed, epoch) order as ever: permutation, remainder dropped.
    self.batches = pipeline.Batches(dataset.train_images, dataset.train_labels, mesh)
    self.state = devices.replicate(create_train_state(
        model, optim.make_optimizer(config, schedule), dataset.image_shape, init_key,
        plateau_tx), mesh)
    self.best = _copy(self.state.variables)
    self.meta = RunMeta(steps_per_epoch=self.steps_per_epoch)
    self.epoch_means, self.window_means = RunningMeans(), RunningMeans()
    self.checkpointer = checkpointing.Checkpointer(run_dir / 'checkpoints',
                                                   max_to_keep=config.keep_checkpoints)
    self._restore()
    self.saved_step = self.meta.step  # The newest checkpoint's step (0: none).
    self.writer = metrics_writer.MetricsWriter(run_dir, resume_step=self.meta.step,
                                               enabled=jax.process_index() == 0)
    self.train_step = steps.make_train_step(mode, config, schedule, mesh,
                                            self.steps_per_epoch, augment)
    self.plateau_update = optim.make_plateau_update(plateau_tx, mesh)
    robust_val = self.adversarial or config.robust_val_standard
    self.validator = validation.Validator(
        model, mesh, config.eval_batch_size,
        from_config.training_pgd(config.adv) if robust_val else None,
        config.adv.eps_255 / 255.0)

  def run(self):
    total = self.length.max_epochs * self.steps_per_epoch
    bar = progress.Progress(self.run_dir.name, total, self.meta.step,
                            items_per_unit=self.batch_size, interval_s=PROGRESS_INTERVAL_S)
    while self.meta.epoch < self.length.max_epochs and not self.meta.stop_reason:
      started = time.perf_counter()
      first_batch = self.meta.batch
      self._train_epoch(bar)
      train_seconds = time.perf_counter() - started
      images = (self.steps_per_epoch - first_batch) * self.batch_size
      self._end_epoch(train_seconds, images / train_seconds, bar)
    if not self.meta.stop_reason:  # Ran to its cap.
      self.meta = dataclasses.replace(self.meta, stop_reason=self.length.cap_reason)
    return devices.to_host(self.best), self.meta

  def close(self):
    self.writer.close()
    self.checkpointer.close()

  def _restore(self):
    restored = resume.restore_newest_good(
        self.checkpointer, {'state': self.state, 'best': self.best}, self._check_meta,
        self.run_dir.name, parse=RunMeta.from_json)
    if restored is None:
      return
    arrays, (self.meta, running) = restored
    self.state, self.best = arrays['state'], arrays['best']
    self.epoch_means = RunningMeans.from_json(running['epoch'])
    self.window_means = RunningMeans.from_json(running['window'])
    logging.info('resumed %s at epoch %d, batch %d (step %d)', self.run_dir.name,
                 self.meta.epoch, self.meta.batch, self.meta.step)

  def _check_meta(self, meta):
    if meta.get('steps_per_epoch') != self.steps_per_epoch:
      self.checkpointer.close()
      raise IncompatibleCheckpointError(
          f'{self.run_dir / "checkpoints"} holds a run with '
          f'{meta.get("steps_per_epoch")} steps per epoch, this one has '
          f'{self.steps_per_epoch} (train.batch_size, the device count or the data '
          'changed, or an older version wrote it). Use a new --workdir or delete it.')

  def _train_epoch(self, bar):
    epoch, spe = self.meta.epoch, self.steps_per_epoch
    # Batches and keys depend only on (seed, epoch, batch): a resumed run sees
    # exactly the batches and attacks an uninterrupted one would.
    batches = itertools.islice(self.batches.epoch(self.batch_size, self.seed, epoch),
                               self.meta.batch, None)
    log_every, save_every = self.config.log_every_steps, self.config.checkpoint_every_steps
    pending = []  # (step, device metrics) not yet checked: syncing every step stalls the device.
    for b, (images, labels) in enumerate(batches, start=self.meta.batch):
      self.state, metrics = self.train_step(self.state, images, labels, self.step_key)
      step = epoch * spe + b + 1
      pending.append((step, metrics))
      log_now = log_every and step % log_every == 0
      save_now = save_every and step % save_every == 0 and b + 1 < spe
      if log_now or save_now or b + 1 == spe:
        self._absorb(pending)
        pending = []
      if log_now:
        self._write_window(step)
      if save_now:
        self.meta = dataclasses.replace(self.meta, batch=b + 1, step=step)
        self._save(step)
      bar.update(step, f'epoch {epoch + 1}/{self.length.max_epochs}')

  def _absorb(self, pending):
    """Checks and accumulates step metrics, in step order; raises on NaN or inf."""
    for (step, _), metrics in zip(pending, devices.to_host([m for _, m in pending])):
      bad = sorted(name for name, value in metrics.items() if not np.isfinite(value))
      if bad:
        raise TrainingDivergedError(self._divergence_message(bad, step))
      self.epoch_means.add(metrics)
      self.window_means.add(metrics)

  def _divergence_message(self, bad, step) -> str:
    epoch = (step - 1) // self.steps_per_epoch + 1
    latest = self.checkpointer.latest_step()
    kept = ('no checkpoint was saved before it' if latest is None else
            f'the last good checkpoint (step {latest}, '
            f'{self._describe_step(latest)}) is kept in {self.run_dir / "checkpoints"}')
    return (f'{self.run_dir.name}: {", ".join(bad)} not finite at step {step} (epoch '
            f'{epoch}); stopped without saving it; {kept}. Lower train.learning_rate '
            'or check the data.')

  def _describe_step(self, step) -> str:
    epochs, batch = divmod(step, self.steps_per_epoch)
    return (f'end of epoch {epochs}' if batch == 0 else
            f'epoch {epochs + 1}, batch {batch}/{self.steps_per_epoch}')

  def _write_window(self, step):
    scalars = {f'train/{name}': value for name, value in self.window_means.means().items()}
    scalars['epoch'] = step / self.steps_per_epoch
    self.writer.write(step, scalars)
    self.window_means = RunningMeans()

  def _end_epoch(self, train_seconds, images_per_second, bar):
    """Validation, plateau, best weights, stopping, metrics, checkpoint, progress."""
    epoch = self.meta.epoch + 1
    step = epoch * self.steps_per_epoch
    started = time.perf_counter()
    val = self.validator(self.state.variables, self.dataset.val_images,
                         self.dataset.val_labels, self.val_key)
    val_seconds = time.perf_counter() - started
    score = val['robust_accuracy'] if self.adversarial else val['accuracy']
    self._step_plateau(val)
    self._keep_if_best(epoch, score)
    reason = self._stop_reason(epoch, score)
    train = self.epoch_means.means()
    summary = dict(epoch=epoch, step=step, **train,
                   **{f'val_{name}': value for name, value in val.items()},
                   val_score=score, seconds=train_seconds + val_seconds,
                   images_per_second=images_per_second)
    self._write_epoch_metrics(step, epoch, train, val, score, images_per_second,
                              train_seconds, val_seconds)
    if reason:  # The length rule's plan and outcome.
      self.writer.write(step, {
          'length/min_epochs': self.length.min_epochs,
          'length/max_epochs': self.length.max_epochs,
          'length/patience_epochs': self.length.patience_epochs,
          'length/epochs_run': epoch, 'length/best_epoch': self.meta.best_epoch,
          'length/stop_reason': reason})
    # The cap is not kept in checkpoints: a run resumed with a larger one goes on.
    kept = None if reason == self.length.cap_reason else reason
    self.meta = dataclasses.replace(self.meta, epoch=epoch, batch=0, step=step,
                                    history=self.meta.history + (summary,),
                                    stop_reason=kept)
    self.epoch_means = RunningMeans()
    if checkpointing.epoch_end_due(step, self.saved_step, self.config.checkpoint_min_steps,
                                   last=bool(reason)):
      self._save(step)
    bar.update(step, force=True, extra=(
        f'epoch {epoch}/{self.length.max_epochs} loss {train["loss"]:.4f} '
        f'val {"robust acc" if self.adversarial else "acc"} {score:.3f} '
        f'(best {self.meta.best_score:.3f} at epoch {self.meta.best_epoch})'))

  def _step_plateau(self, val):
    """Feeds the epoch's validation loss to reduce-on-plateau, if configured."""
    if self.config.plateau.patience:
      plateau_loss = val['robust_loss'] if self.adversarial else val['loss']
      self.state = self.state.replace(
          plateau=self.plateau_update(self.state.plateau, plateau_loss))

  def _keep_if_best(self, epoch, score):
    """Copies the weights when `score` beats every earlier epoch's."""
    if score > self.meta.best_score:
      self.best = _copy(self.state.variables)
      self.meta = dataclasses.replace(self.meta, best_epoch=epoch, best_score=score)

  def _write_epoch_metrics(self, step, epoch, train, val, score, images_per_second,
                           train_seconds, val_seconds):
    self.writer.write(step, {
        'epoch': epoch, **{f'train_epoch/{n}': v for n, v in train.items()},
        **{f'val/{n}': v for n, v in val.items()}, 'val/score': score,
        'perf/train_images_per_second': images_per_second,
        'perf/train_seconds': train_seconds, 'perf/val_seconds': val_seconds})

  def _stop_reason(self, epoch, score):
    adv = self.config.adv
    if (self.mode == 'fgsm_rs' and adv.overfit_drop
        and self.meta.best_score - score > adv.overfit_drop):
      logging.warning(
          '%s: catastrophic overfitting at epoch %d: PGD validation accuracy fell from '
          '%.3f (epoch %d) to %.3f; stopping and keeping the epoch-%d weights.',
          self.run_dir.name, epoch, self.meta.best_score, self.meta.best_epoch,
          score, self.meta.best_epoch)
      return length.CATASTROPHIC_OVERFITTING
    reason = length.stop_reason(self.length, epoch, self.meta.best_epoch)
    if reason == length.EARLY_STOPPING:
      logging.info('%s: no better validation score for %d epochs; stopping early.',
                   self.run_dir.name, self.length.patience_epochs)
    return reason

  def _save(self, step):
    running = {'epoch': self.epoch_means.to_json(), 'window': self.window_means.to_json()}
    self.writer.flush()  # Rows up to `step` are on disk before the checkpoint is.
    self.checkpointer.save(step, {'state': self.state, 'best': self.best},
                           self.meta.to_json(running))
    self.saved_step = step


def _copy(tree):
  # Train steps donate the state's buffers; the best weights need their own.
  return jax.tree_util.tree_map(lambda a: a.copy(), tree)
