"""Robustness over a whole epsilon grid: one compiled program, vmapped over eps.

The attack runs for every eps of the grid at once (`jax.vmap`), so a GPU/TPU
sees one large batch of (eps x examples) images; the host loops only over
chunks of examples, sized so that eps x chunk stays below a memory bound.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np


def correct_over_eps(attack, logits_fn, x, y, eps_grid, key) -> jnp.ndarray:
  """Whether each example is still classified correctly after the attack at each eps.

  Args:
    attack: `(logits_fn, x, y, eps, key) -> x_adv`.
    logits_fn: (N, H, W, C) -> (N, K).
    x, y: images (N, H, W, C) in [0, 1] and labels (N,).
    eps_grid: (E,) radii in [0, 1] pixel units.
    key: PRNG key, shared by every eps so that radii differ only in scale.

  Returns:
    bool (E, N).
  """
  def at_eps(eps):
    x_adv = attack(logits_fn, x, y, eps, key)
    return jnp.argmax(logits_fn(x_adv), axis=-1) == y
  return jax.vmap(at_eps)(eps_grid)


def worst_case_so_far(correct: np.ndarray) -> np.ndarray:
  """Correct at eps only if correct at every smaller eps of an ascending grid.

  An adversarial example found at a smaller radius lies inside every larger
  ball, so it is a valid attack there too; (E, N) -> (E, N).
  """
  return np.logical_and.accumulate(correct, axis=0)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _correct_over_eps_jit(attack, apply_fn, variables, x, y, eps_grid, key):
  logits_fn = lambda images: apply_fn(variables, images)
  return correct_over_eps(attack, logits_fn, x, y, eps_grid, key)


@functools.partial(jax.jit, static_argnums=0)
def _predict_jit(apply_fn, variables, x):
  return jnp.argmax(apply_fn(variables, x), axis=-1)


def predict(apply_fn, variables, images: np.ndarray, batch_size: int) -> np.ndarray:
  """Predicted classes of `images`, (N,), in batches of at most `batch_size`."""
  outputs = []
  for start in range(0, images.shape[0], batch_size):
    chunk, valid = _padded(images[start:start + batch_size], batch_size)
    outputs.append(np.asarray(_predict_jit(apply_fn, variables, chunk))[:valid])
  return np.concatenate(outputs) if outputs else np.zeros((0,), np.int32)


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
  correct = np.zeros((eps_grid.size, labels.size), bool)
  clean_correct = predict(apply_fn, variables, images, max_images_per_program) == labels
  to_attack = np.flatnonzero(clean_correct)
  chunk = max(1, max_images_per_program // max(1, eps_grid.size))
  for chunk_index, start in enumerate(range(0, to_attack.size, chunk)):
    idx = to_attack[start:start + chunk]
    x, valid = _padded(images[idx], chunk)
    y, _ = _padded(labels[idx], chunk)
    verdict = _correct_over_eps_jit(attack, apply_fn, variables, x, y, eps_grid,
                                    jax.random.fold_in(key, chunk_index))
    correct[:, idx] = np.asarray(verdict)[:, :valid]
  return correct


def _padded(array: np.ndarray, size: int):
  """Pads the leading axis to `size` by repeating the first row (static shapes)."""
  valid = array.shape[0]
  if valid == size:
    return array, valid
  pad = np.repeat(array[:1], size - valid, axis=0)
  return np.concatenate([array, pad]), valid
