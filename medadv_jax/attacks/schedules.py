"""Ways to run one attack over a whole eps grid, chosen by `config.attack.schedule`.

All return bool (E, N): whether each example is still classified right at each
eps. Example i is attacked with key fold_in(key, i) whatever the schedule, so
on the same key they agree example by example:
  'vmap'     every eps in one compiled program (`eps_grid`; the GPU/TPU path).
             Not cumulated: pass through `eps_grid.worst_case_so_far`.
  'loop'     one eps at a time, every clean-correct example; same verdicts.
  'cascade'  ascending eps, attacking only the examples still correct: an
             adversarial image found at eps is inside every larger ball, so
             the result is already the worst case over radii up to eps, equal
             to worst_case_so_far('vmap'), at a fraction of the cost.
  'min_eps'  each example's smallest fooling grid radius by bisection over the
             grid (`min_eps`); log2(E) attacks per example.
Memory is bounded by attacking at most `max_images_per_program` images (times
E for 'vmap') per compiled program.
"""

import functools

import jax
import numpy as np

from medadv_jax.attacks import eps_grid, min_eps, objectives

SCHEDULES = ('vmap', 'loop', 'cascade', 'min_eps')
# Smallest chunk of `correct_at` (see `chunk_size`).
MIN_BUCKET = 16


def evaluate(schedule: str, attack, apply_fn, variables, images: np.ndarray,
             labels: np.ndarray, eps: np.ndarray, key: jax.Array,
             max_images_per_program: int) -> np.ndarray:
  """Correctness (E, N) of `attack` over the ascending grid `eps` ((E,), [0, 1] units).

  Arguments as `eps_grid.evaluate_over_eps`.
  """
  args = (attack, apply_fn, variables, images, labels, np.asarray(eps, np.float32), key,
          max_images_per_program)
  if schedule == 'vmap':
    return eps_grid.evaluate_over_eps(*args)
  if schedule == 'loop':
    return evaluate_looped(*args)
  if schedule == 'cascade':
    return evaluate_cascade(*args)
  if schedule == 'min_eps':
    return min_eps.evaluate_min_eps(*args, correct_at=correct_at)
  raise ValueError(f'unknown schedule {schedule!r}; allowed {SCHEDULES}')


def evaluate_looped(attack, apply_fn, variables, images, labels, eps, key,
                    max_images_per_program) -> np.ndarray:
  """One eps at a time over every clean-correct example; bool (E, N), not cumulated."""
  correct = np.zeros((eps.size, labels.shape[0]), bool)
  to_attack = _clean_correct_indices(apply_fn, variables, images, labels,
                                     max_images_per_program)
  for e, radius in enumerate(eps):
    correct[e, to_attack] = correct_at(attack, apply_fn, variables, images, labels,
                                       to_attack, np.full(to_attack.size, radius), key,
                                       max_images_per_program)
  return correct


def evaluate_cascade(attack, apply_fn, variables, images, labels, eps, key,
                     max_images_per_program) -> np.ndarray:
  """Ascending eps, attacking only the still-correct examples; bool (E, N), cumulated."""
  correct = np.zeros((eps.size, labels.shape[0]), bool)
  alive = _clean_correct_indices(apply_fn, variables, images, labels,
                                 max_images_per_program)
  for e, radius in enumerate(eps):
    verdict = correct_at(attack, apply_fn, variables, images, labels, alive,
                         np.full(alive.size, radius), key, max_images_per_program)
    alive = alive[verdict]
    correct[e, alive] = True
  return correct


def correct_at(attack, apply_fn, variables, images, labels, indices: np.ndarray,
               radii: np.ndarray, key: jax.Array, max_images_per_program: int) -> np.ndarray:
  """Correctness after `attack` of the examples `indices`, each at its own radius.

  Args:
    indices: int (M,) rows of `images` / `labels` to attack.
    radii: (M,) radius of each, [0, 1] pixel units.

  Returns:
    bool (M,).
  """
  out = np.zeros(indices.size, bool)
  start = 0
  while start < indices.size:
    size = chunk_size(indices.size - start, max_images_per_program)
    idx = indices[start:start + size]
    x, valid = eps_grid.padded(images[idx], size)
    y, _ = eps_grid.padded(labels[idx], size)
    r, _ = eps_grid.padded(radii[start:start + idx.size].astype(np.float32), size)
    ids, _ = eps_grid.padded(idx.astype(np.int32), size)
    out[start:start + valid] = np.asarray(
        _correct_at_jit(attack, apply_fn, variables, x, y, r, key, ids))[:valid]
    start += valid
  return out


def chunk_size(remaining: int, cap: int) -> int:
  """Next chunk's padded size: `cap`, else the largest MIN_BUCKET x 4**k <= `remaining`
  (at least MIN_BUCKET). E.g. 154 images go as 64 + 64 + 16 + 10 padded to 16: at
  most a few compiled shapes (each compile costs seconds on a CPU), shared by
  every eps, and fewer than MIN_BUCKET padded images per call of `correct_at`.
  """
  if remaining >= cap:
    return cap
  size = MIN_BUCKET
  while size * 4 <= remaining:
    size *= 4
  return min(cap, size)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _correct_at_jit(attack, apply_fn, variables, x, y, radii, key, indices):
  logits_fn = lambda images: apply_fn(variables, images)
  x_adv = attack(logits_fn, x, y, radii, eps_grid.keys_of(key, indices))
  return objectives.correct(logits_fn(x_adv), y)


def _clean_correct_indices(apply_fn, variables, images, labels, batch_size) -> np.ndarray:
  return np.flatnonzero(eps_grid.clean_correct(apply_fn, variables, images, labels,
                                               batch_size))
