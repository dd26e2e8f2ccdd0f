"""Robustness over a whole epsilon grid: one compiled program, vmapped over eps.

The attack runs for every eps of the grid at once (`jax.vmap`), so a GPU/TPU
sees one large batch of (eps x examples) images; the host loops only over
chunks of examples, sized so that eps x chunk stays below a memory bound.
Example i of `images` is attacked with key fold_in(key, i) at every eps and in
every chunk, so chunking (and the other schedules of `schedules`) leave each
example's verdict unchanged; each chunk is split over the run's devices
(`devices`).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from medadv_jax.attacks import objectives
from medadv_jax.ops import xla_options
from medadv_jax.runtime import devices


def correct_over_eps(attack, logits_fn, x, y, eps_grid, key) -> jnp.ndarray:
  """Whether each example is still classified correctly after the attack at each eps.

  Args:
    attack: `(logits_fn, x, y, eps, key) -> x_adv`.
    logits_fn: (N, H, W, C) -> (N, K).
    x, y: images (N, H, W, C) in [0, 1] and labels (N,) (or (N, L) multi-label).
    eps_grid: (E,) radii in [0, 1] pixel units.
    key: one PRNG key or (N,) per-example keys, shared by every eps so that
      radii differ only in scale.

  Returns:
    bool (E, N).
  """
  def at_eps(eps):
    x_adv = attack(logits_fn, x, y, eps, key)
    return objectives.correct(logits_fn(x_adv), y)
  return jax.vmap(at_eps)(eps_grid)


def worst_case_so_far(correct: np.ndarray) -> np.ndarray:
  """Correct at eps only if correct at every smaller eps of an ascending grid.

  An adversarial example found at a smaller radius lies inside every larger
  ball, so it is a valid attack there too; (E, N) -> (E, N).
  """
  return np.logical_and.accumulate(correct, axis=0)


def keys_of(key: jax.Array, indices: jnp.ndarray) -> jax.Array:
  """Per-example keys fold_in(key, i) for the examples' indices i, (N,) -> (N,)."""
  return jax.vmap(jax.random.fold_in, (None, 0))(key, indices)


@xla_options.jit(static_argnums=(0, 1))
def _correct_over_eps_jit(attack, apply_fn, variables, x, y, eps_grid, key, indices):
  logits_fn = lambda images: apply_fn(variables, images)
  return correct_over_eps(attack, logits_fn, x, y, eps_grid, keys_of(key, indices))


@functools.partial(jax.jit, static_argnums=0)
def _clean_correct_jit(apply_fn, variables, x, y):
  return objectives.correct(apply_fn(variables, x), y)


@functools.partial(jax.jit, static_argnums=0)
def _logits_jit(apply_fn, variables, x):
  return apply_fn(variables, x)


def clean_logits(apply_fn, variables, images: np.ndarray, batch_size: int) -> np.ndarray:
  """The model's outputs on clean `images`, float32 (N, K)."""
  outputs = []
  batch_size = devices.round_up(max(1, min(batch_size, images.shape[0])))
  variables = devices.replicate(variables)
  for start in range(0, images.shape[0], batch_size):
    x, valid = padded(images[start:start + batch_size], batch_size)
    outputs.append(np.asarray(devices.to_host(
        _logits_jit(apply_fn, variables, devices.split(x))), np.float32)[:valid])
  return np.concatenate(outputs)


def clean_correct(apply_fn, variables, images: np.ndarray, labels: np.ndarray,
                  batch_size: int) -> np.ndarray:
  """Whether each clean image is classified right, bool (N,) (multi-label: exact match)."""
  outputs = []
  # Never pad a small input up to a large batch: padding is computed too.
  batch_size = devices.round_up(max(1, min(batch_size, images.shape[0])))
  variables = devices.replicate(variables)
  for start in range(0, images.shape[0], batch_size):
    x, valid = padded(images[start:start + batch_size], batch_size)
    y, _ = padded(labels[start:start + batch_size], batch_size)
    outputs.append(devices.to_host(_clean_correct_jit(apply_fn, variables, devices.split(x),
                                                      devices.split(y)))[:valid])
  return np.concatenate(outputs) if outputs else np.zeros((0,), bool)


def evaluate_over_eps(attack, apply_fn, variables, images: np.ndarray,
                      labels: np.ndarray, eps_grid: np.ndarray, key: jax.Array,
                      max_images_per_program: int) -> np.ndarray:
  """Per-example correctness under `attack` at each eps, bool (E, N), not cumulated.

  Examples the model already gets wrong on clean images are wrong at every eps
  (eps = 0 is inside every ball) and are not attacked, which saves their cost.
  `apply_fn(variables, images) -> logits` must be hashable (e.g. a bound
  eval-mode model method) because it is a static argument of the compiled program.
  """
  eps_grid = np.asarray(eps_grid, np.float32)
  correct = np.zeros((eps_grid.size, labels.shape[0]), bool)
  is_correct = clean_correct(apply_fn, variables, images, labels, max_images_per_program)
  to_attack = np.flatnonzero(is_correct)
  chunk = devices.round_up(
      max(1, min(max_images_per_program // max(1, eps_grid.size), to_attack.size)))
  variables = devices.replicate(variables)
  for start in range(0, to_attack.size, chunk):
    idx = to_attack[start:start + chunk]
    x, valid = padded(images[idx], chunk)
    y, _ = padded(labels[idx], chunk)
    indices, _ = padded(idx.astype(np.int32), chunk)
    verdict = _correct_over_eps_jit(attack, apply_fn, variables, devices.split(x),
                                    devices.split(y), eps_grid, key, devices.split(indices))
    correct[:, idx] = devices.to_host(verdict)[:, :valid]
  return correct


def padded(array: np.ndarray, size: int):
  """Pads the leading axis to `size` by repeating the first row (static shapes)."""
  valid = array.shape[0]
  if valid == size:
    return array, valid
  pad = np.repeat(array[:1], size - valid, axis=0)
  return np.concatenate([array, pad]), valid
