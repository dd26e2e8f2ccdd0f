"""Validation during training: clean and robust accuracy and loss, data parallel.

The robust numbers use the evaluation PGD (`from_config.training_pgd`: random
start, first fooling iterate), never the training attack: FGSM-trained models can
resist FGSM while PGD breaks them (catastrophic overfitting), so only PGD
accuracy is a trustworthy selection score.
"""

from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np

from medadv_jax.attacks import objectives, registry
from medadv_jax.models.eval_apply import EvalApply
from medadv_jax.runtime import devices
from medadv_jax.training import losses


class Validator:
  """`validator(variables, images, labels, key) -> dict of means` over a split.

  Keys: 'accuracy' (multi-label: exact match), 'loss' (clean cross-entropy, nats,
  `losses.cross_entropy`) and, with an attack,
  'robust_accuracy', 'robust_loss' (cross-entropy at the attack's output).
  BatchNorm uses running statistics, so examples are independent and the
  padding of the last batch changes nothing.
  """

  def __init__(self, model, mesh: jax.sharding.Mesh, batch_size: int,
               attack: Optional[registry.AttackSpec] = None, eps: float = 0.0):
    self.model, self.mesh, self.attack, self.eps = model, mesh, attack, eps
    # A multiple of the device count, so every device gets an equal share.
    self.batch_size = max(mesh.size, batch_size // mesh.size * mesh.size)
    replicated, batch = devices.replicated(mesh), devices.batch_sharded(mesh)
    self._sums = jax.jit(self._batch_sums,
                         in_shardings=(replicated, batch, batch, batch, replicated),
                         out_shardings=replicated)

  def _batch_sums(self, variables, x, y, weight, key):
    apply_fn = EvalApply(self.model)
    logits_fn = lambda images: apply_fn(variables, images)

    def sums(logits):
      ce = losses.cross_entropy(logits, y)
      correct = objectives.correct(logits, y).astype(jnp.float32)
      return jnp.sum(weight * correct), jnp.sum(weight * ce)

    out = dict(zip(('accuracy', 'loss'), sums(logits_fn(x))))
    if self.attack is not None:
      x_adv = self.attack(logits_fn, x, y, self.eps, key)
      out.update(zip(('robust_accuracy', 'robust_loss'), sums(logits_fn(x_adv))))
    return out

  def __call__(self, variables, images: np.ndarray, labels: np.ndarray,
               key: jax.Array) -> dict:
    n_devices, n = self.mesh.size, labels.shape[0]
    size = min(self.batch_size, -(-n // n_devices) * n_devices)
    totals = {}
    for index, start in enumerate(range(0, n, size)):
      x, y = images[start:start + size], labels[start:start + size]
      weight = np.zeros(size, np.float32)
      weight[:y.shape[0]] = 1.0
      pad = size - y.shape[0]
      x = np.concatenate([x, np.repeat(x[:1], pad, 0)]) if pad else x
      y = np.concatenate([y, np.repeat(y[:1], pad, 0)]) if pad else y
      sums = devices.to_host(self._sums(
          variables, devices.shard_batch(x, self.mesh), devices.shard_batch(y, self.mesh),
          devices.shard_batch(weight, self.mesh), jax.random.fold_in(key, index)))
      for name, value in sums.items():
        totals[name] = totals.get(name, 0.0) + float(value)
    return {name: total / n for name, total in totals.items()}


class GroupValidator(Validator):
  """`validator(variables, images, labels, keys) -> list of dicts of means`, one per
  seed of a cell group: the variables and keys carry a leading seed axis (S,),
  images and labels too unless `shared` (one validation split for every seed).

  Each seed's sums are those of `Validator` on its own split and key (vmapped).
  """

  def __init__(self, model, mesh: jax.sharding.Mesh, batch_size: int,
               attack: Optional[registry.AttackSpec] = None, eps: float = 0.0,
               shared: bool = True):
    super().__init__(model, mesh, batch_size, attack, eps)
    self.batch_size = batch_size  # Each seed's chunk stays whole on its device.
    self.shared = shared
    seeds, whole = devices.batch_sharded(mesh), devices.replicated(mesh)
    data = whole if shared else seeds
    per_seed = jax.vmap(
        lambda v, x, y, w, key, index: self._batch_sums(v, x, y, w,
                                                        jax.random.fold_in(key, index)),
        in_axes=(0, None if shared else 0, None if shared else 0, None, 0, None))
    self._group_sums = jax.jit(per_seed,
                               in_shardings=(seeds, data, data, whole, seeds, whole),
                               out_shardings=seeds)

  def __call__(self, variables, images: np.ndarray, labels: np.ndarray,
               keys: jax.Array) -> list[dict]:
    axis = 0 if self.shared else 1  # The example axis.
    n = labels.shape[axis]
    size = min(self.batch_size, n)
    place = ((lambda a: devices.replicate(a, self.mesh)) if self.shared
             else (lambda a: devices.shard_leading(a, self.mesh)))
    totals = {}
    for index, start in enumerate(range(0, n, size)):
      x, y = (_padded_rows(a, start, size, axis) for a in (images, labels))
      weight = np.zeros(size, np.float32)
      weight[:min(size, n - start)] = 1.0
      sums = devices.to_host(self._group_sums(variables, place(x), place(y),
                                              devices.replicate(weight, self.mesh), keys,
                                              np.int32(index)))
      for name, value in sums.items():  # Float64 sums, as `Validator` adds them.
        totals[name] = totals.get(name, 0.0) + np.asarray(value, np.float64)
    return [{name: float(total[s]) / n for name, total in totals.items()}
            for s in range(len(totals['accuracy']))]


def _padded_rows(array: np.ndarray, start: int, size: int, axis: int) -> np.ndarray:
  """Rows start:start+size along `axis`, the last chunk padded with its first row."""
  rows = np.take(array, np.arange(start, min(start + size, array.shape[axis])), axis=axis)
  pad = size - rows.shape[axis]
  if not pad:
    return rows
  first = np.take(rows, [0] * pad, axis=axis)
  return np.concatenate([rows, first], axis=axis)
