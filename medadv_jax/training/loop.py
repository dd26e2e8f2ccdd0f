"""The epoch loop of one training run: resumable, deterministic, fail-fast on NaN."""

import json
import os
import pathlib
import time

import jax
import numpy as np
import optax
from absl import logging

from medadv_jax import checkpointing
from medadv_jax.attacks import eps_grid, linf
from medadv_jax.errors import MedAdvError
from medadv_jax.evaluation.eval_apply import EvalApply
from medadv_jax.training import steps
from medadv_jax.training.train_state import create_train_state

TRAIN_MODES = ('standard', 'pgd')


class TrainingDivergedError(MedAdvError):
  """The loss or a norm became NaN or infinite."""


def training_attack(adv_config):
  """The attack adversarial training trains on: untargeted PGD with random start."""
  return linf.LinfAttack('pgd', 'untargeted', steps=adv_config.steps,
                         step_size_frac=adv_config.step_size_frac, random_start=True)


def train_model(model, dataset, train_config, mode: str, seed: int,
                run_dir: pathlib.Path):
  """Trains `model` on `dataset`, resuming from `run_dir` if a checkpoint is there.

  Selection keeps the weights of the epoch with the best validation score:
  clean accuracy for standard training, accuracy under the training attack for
  adversarial training.

  Returns:
    (best variables {'params', 'batch_stats'}, meta dict with the history).
  """
  attack = training_attack(train_config.adv) if mode == 'pgd' else None
  adv_eps = train_config.adv.eps_255 / 255.0
  train_step = steps.make_train_step(train_config.l2_coeff, attack,
                                     train_config.adv.bn_mode, eps=adv_eps)
  tx = optax.adam(train_config.learning_rate)
  init_key, step_key, val_key = jax.random.split(jax.random.key(seed), 3)
  state = create_train_state(model, tx, dataset.image_shape, init_key)
  best = _copy(state.variables)
  meta = {'epoch': 0, 'best_epoch': 0, 'best_score': -1.0, 'history': []}

  checkpointer = checkpointing.Checkpointer(run_dir / 'checkpoints')
  if checkpointer.latest_step() is not None:
    arrays, meta = checkpointer.restore(checkpointer.latest_step(),
                                        {'state': state, 'best': best})
    state, best = arrays['state'], arrays['best']
    logging.info('resumed %s at epoch %d', run_dir.name, meta['epoch'])

  n_train = dataset.train_labels.size
  batch_size = min(train_config.batch_size, n_train)
  batches_per_epoch = n_train // batch_size
  for epoch in range(meta['epoch'], train_config.epochs):
    started = time.perf_counter()
    # Order and attack keys depend only on (seed, epoch, batch): a resumed run
    # sees exactly the batches an uninterrupted one would.
    order = np.random.default_rng([seed, epoch]).permutation(n_train)
    epoch_key = jax.random.fold_in(step_key, epoch)
    step_metrics = []
    for b in range(batches_per_epoch):
      idx = order[b * batch_size:(b + 1) * batch_size]
      state, metrics = train_step(state, dataset.train_images[idx],
                                  dataset.train_labels[idx], jax.random.fold_in(epoch_key, b))
      step_metrics.append(metrics)
    summary = {k: float(np.mean([m[k] for m in jax.device_get(step_metrics)]))
               for k in step_metrics[0]}
    bad = [k for k, v in summary.items() if not np.isfinite(v)]
    if bad:
      raise TrainingDivergedError(
          f'{run_dir.name}: {", ".join(bad)} not finite in epoch {epoch + 1}; stopped '
          f'without saving it. The last good checkpoint (epoch {meta["epoch"]}) is kept '
          f'in {run_dir / "checkpoints"}. Lower train.learning_rate or check the data.')
    score = _validation_score(model, state, dataset, attack, adv_eps, val_key, train_config)
    summary.update(epoch=epoch + 1, val_score=score,
                   seconds=time.perf_counter() - started)
    if score > meta['best_score']:
      best = _copy(state.variables)
      meta.update(best_epoch=epoch + 1, best_score=score)
    meta['epoch'] = epoch + 1
    meta['history'].append(summary)
    checkpointer.save(epoch + 1, {'state': state, 'best': best}, meta)
    _write_jsonl(run_dir / 'metrics.jsonl', meta['history'])
    remaining = (train_config.epochs - epoch - 1) * summary['seconds']
    logging.info('%s epoch %d/%d loss %.4f train acc %.3f val %s %.3f | %.0f img/s, ETA %.0fs',
                 run_dir.name, epoch + 1, train_config.epochs, summary['loss'],
                 summary['accuracy'], 'robust acc' if attack else 'acc', score,
                 batches_per_epoch * batch_size / summary['seconds'], remaining)
  checkpointer.close()
  return best, meta


def _validation_score(model, state, dataset, attack, adv_eps, key,
                      train_config) -> float:
  apply_fn = EvalApply(model)
  variables = state.variables
  if attack is None:
    predictions = eps_grid.predict(apply_fn, variables, dataset.val_images,
                                   train_config.eval_batch_size)
    return float(np.mean(predictions == dataset.val_labels))
  correct = eps_grid.evaluate_over_eps(
      attack, apply_fn, variables, dataset.val_images, dataset.val_labels,
      np.array([adv_eps]), key, train_config.eval_batch_size)
  return float(correct[0].mean())


def _copy(tree):
  # Train steps donate the state's buffers; the best weights need their own.
  return jax.tree_util.tree_map(lambda a: a.copy(), tree)


def _write_jsonl(path: pathlib.Path, rows) -> None:
  tmp = path.with_suffix('.tmp')
  tmp.write_text(''.join(json.dumps(row) + '\n' for row in rows))
  os.replace(tmp, path)
