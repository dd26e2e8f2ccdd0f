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
             to worst_case_so_far('vmap'), at a fraction of the cost. Examples
             that interval bounds certify at eps (`interval_bounds`: no point
             of the ball is misclassified, so no attack can succeed) are not
             attacked there; their verdict is the same, for certain.
  'min_eps'  each example's smallest fooling grid radius by bisection over the
             grid (`min_eps`); log2(E) attacks per example.
  'auto'     'vmap' on GPU and TPU, where one wide program fills the device;
             'cascade' on CPU, where width buys little and skipping work pays.
Memory is bounded by attacking at most `max_images_per_program` images (times
E for 'vmap') per compiled program.
"""

import functools
from typing import Optional

import jax
import numpy as np
from absl import logging

from medadv_jax.attacks import eps_grid, interval_bounds, min_eps, objectives, registry

SCHEDULES = ('auto', 'vmap', 'loop', 'cascade', 'min_eps')
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
  schedule = resolve(schedule)
  if schedule == 'vmap':
    return eps_grid.evaluate_over_eps(*args)
  if schedule == 'loop':
    return evaluate_looped(*args)
  if schedule == 'cascade':
    return evaluate_cascade(*args)
  if schedule == 'min_eps':
    return min_eps.evaluate_min_eps(*args, correct_at=correct_at)
  raise ValueError(f'unknown schedule {schedule!r}; allowed {SCHEDULES}')


def resolve(schedule: str) -> str:
  """The schedule 'auto' stands for on this machine's default backend; others as given."""
  if schedule != 'auto':
    return schedule
  return 'cascade' if jax.default_backend() == 'cpu' else 'vmap'


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
                     max_images_per_program, certify: bool = True) -> np.ndarray:
  """Ascending eps, attacking only the still-correct examples; bool (E, N), cumulated.

  `certify`: skip the examples interval bounds prove robust at eps (for
  AttackSpec attacks on models the bounds support).
  """
  correct = np.zeros((eps.size, labels.shape[0]), bool)
  alive = _clean_correct_indices(apply_fn, variables, images, labels,
                                 max_images_per_program)
  # Bounds grow with the radius: once none of the survivors is certified at
  # one radius, none will be at a larger one.
  box_scale = _linf_box_scale(attack) if certify else None
  for e, radius in enumerate(eps):
    if radius == 0:  # The zero ball holds only the clean image: alive means correct.
      correct[e, alive] = True
      continue
    verdict = np.ones(alive.size, bool)
    todo = np.arange(alive.size)
    if box_scale is not None:
      proven = certified_at(apply_fn, variables, images, labels, alive,
                            radius * box_scale, max_images_per_program)
      if proven is None or not proven.any():
        box_scale = None
      else:
        todo = np.flatnonzero(~proven)
    verdict[todo] = correct_at(attack, apply_fn, variables, images, labels, alive[todo],
                               np.full(todo.size, radius), key, max_images_per_program)
    alive = alive[verdict]
    correct[e, alive] = True
  return correct


def certified_at(apply_fn, variables, images, labels, indices: np.ndarray, radius: float,
                 max_images_per_program: int) -> Optional[np.ndarray]:
  """Whether interval bounds prove each example robust in the L-inf ball of `radius`,
  bool (M,); None when the model has an operation the bounds do not cover."""
  def run(idx, start, size):
    del start  # One radius for every example.
    return _certified_jit(apply_fn, variables, eps_grid.padded(images[idx], size)[0],
                          eps_grid.padded(labels[idx], size)[0], np.float32(radius))
  try:
    return _over_chunks(indices, max_images_per_program, run)
  except interval_bounds.UnsupportedModel as error:
    logging.log_first_n(logging.INFO, 'interval bounds off for this model: %s', 1, error)
    return None


def _linf_box_scale(attack) -> Optional[float]:
  """L-inf box radius per unit of grid eps: 1 for L-inf attacks, the L2 radius scale
  for L2 attacks (the L-inf box of the L2 radius contains the L2 ball); None for
  attacks that do not say their norm."""
  if not isinstance(attack, registry.AttackSpec):
    return None
  return attack.eps_scale if attack.norm == 'l2' else 1.0


@functools.partial(jax.jit, static_argnums=0)
def _certified_jit(apply_fn, variables, x, y, radius):
  return interval_bounds.certified(lambda images: apply_fn(variables, images), x, y, radius)


def correct_at(attack, apply_fn, variables, images, labels, indices: np.ndarray,
               radii: np.ndarray, key: jax.Array, max_images_per_program: int) -> np.ndarray:
  """Correctness after `attack` of the examples `indices`, each at its own radius.

  Args:
    indices: int (M,) rows of `images` / `labels` to attack.
    radii: (M,) radius of each, [0, 1] pixel units.

  Returns:
    bool (M,).
  """
  def run(idx, start, size):
    pad = lambda array: eps_grid.padded(array, size)[0]
    return _correct_at_jit(attack, apply_fn, variables, pad(images[idx]), pad(labels[idx]),
                           pad(radii[start:start + idx.size].astype(np.float32)), key,
                           pad(idx.astype(np.int32)))
  return _over_chunks(indices, max_images_per_program, run)


def _over_chunks(indices: np.ndarray, cap: int, run) -> np.ndarray:
  """bool (M,): `run(idx, start, size)` over consecutive chunks `idx` of `indices`,
  each padded by `run` to `size` (see `chunk_size`: few compiled shapes)."""
  out = np.zeros(indices.size, bool)
  start = 0
  while start < indices.size:
    size = chunk_size(indices.size - start, cap)
    idx = indices[start:start + size]
    out[start:start + idx.size] = np.asarray(run(idx, start, size))[:idx.size]
    start += idx.size
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
