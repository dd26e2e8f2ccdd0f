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
             that linear or interval bounds certify at eps (`linear_bounds`:
             no point of the ball is misclassified, so no attack can succeed)
             are not attacked there; their verdict is the same, for certain.
             Each example's largest certified grid radius is found once, by
             bisection (`certified_reach`), before the attacks.
  'min_eps'  each example's smallest fooling grid radius by bisection over the
             grid (`min_eps`); log2(E) attacks per example.
  'auto'     'vmap' on GPU and TPU, where one wide program fills the device;
             'cascade' on CPU, where width buys little and skipping work pays.
Memory is bounded by attacking at most `max_images_per_program` images (times
E for 'vmap') per compiled program. Each program's images are split over the
run's devices (`devices`), chunks padded to a multiple of their number.
"""

import dataclasses
import math
from typing import Optional

import jax
import numpy as np
from absl import logging

from medadv_jax.attacks import (eps_grid, interval_bounds, linear_bounds, min_eps, objectives,
                                registry)
from medadv_jax.ops import xla_options
from medadv_jax.runtime import devices

SCHEDULES = ('auto', 'vmap', 'loop', 'cascade', 'min_eps')
# Those whose verdicts are each radius's own; the others return them cumulated.
SINGLE_RADIUS_SCHEDULES = ('vmap', 'loop')
# Smallest chunk of `correct_at` (see `chunk_size`).
MIN_BUCKET = 16
# Ratio of consecutive chunk sizes below the cap: 16, 256, 4096 ... Every size
# is one more compiled attack program (seconds each on a CPU, and every model
# of a study compiles its own), while a small chunk costs little more per image
# than a large one; so few sizes, far apart (measurements: benchmarks/README.md).
BUCKET_RATIO = 16


def evaluate(schedule: str, attack, apply_fn, variables, images: np.ndarray,
             labels: np.ndarray, eps: np.ndarray, key: jax.Array,
             max_images_per_program: int,
             certificates: Optional['Certificates'] = None) -> np.ndarray:
  """Correctness (E, N) of `attack` over the ascending grid `eps` ((E,), [0, 1] units).

  Arguments as `eps_grid.evaluate_over_eps`. `certificates`: for 'cascade', the
  model's certified radii (`certify`) instead of certifying anew.
  """
  args = (attack, apply_fn, devices.replicate(variables), images, labels,
          np.asarray(eps, np.float32), key, max_images_per_program)
  schedule = resolve(schedule)
  if schedule == 'vmap':
    return eps_grid.evaluate_over_eps(*args)
  if schedule == 'loop':
    return evaluate_looped(*args)
  if schedule == 'cascade':
    return evaluate_cascade(*args, certificates=certificates)
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


@dataclasses.dataclass(frozen=True)
class Certificates:
  """Each example's largest radius proven robust in the L-inf ball: `radius`
  (N,), [0, 1] units, 0 where none (every example of the evaluated images;
  the ball of radius 0 holds only the clean image, so 0 proves nothing)."""
  radius: np.ndarray

  def reach(self, eps: np.ndarray, box_scale: float = 1.0) -> np.ndarray:
    """(N,) the largest index of the ascending grid `eps` whose ball (an L-inf
    box of eps * box_scale) lies inside the certified one, -1 for none: the
    balls nest, so a certificate covers every smaller radius."""
    boxes = np.asarray(eps, np.float64) * box_scale
    inside = (boxes[None, :] <= self.radius[:, None]) & (boxes[None, :] > 0)
    return np.where(inside.any(axis=1), inside.shape[1] - 1 - np.argmax(inside[:, ::-1], 1),
                    -1)

  @property
  def certified(self) -> np.ndarray:
    """(N,) bool: proven robust at some radius above 0."""
    return self.radius > 0


def certify(apply_fn, variables, images, labels, eps: np.ndarray,
            max_images_per_program: int) -> Optional[Certificates]:
  """The certificates of every clean-correct example over the ascending L-inf
  grid `eps` ([0, 1] units), by bisection (`certified_reach`); None when the
  model has an operation the bounds do not cover."""
  eps = np.asarray(eps, np.float32)
  alive = _clean_correct_indices(apply_fn, variables, images, labels,
                                 max_images_per_program)
  found = certified_reach(apply_fn, variables, images, labels, alive, eps,
                          max_images_per_program)
  if found is None:
    return None
  radius = np.zeros(labels.shape[0], np.float64)
  radius[alive] = np.where(found >= 0, eps[np.maximum(found, 0)], 0.0)
  return Certificates(radius)


def evaluate_cascade(attack, apply_fn, variables, images, labels, eps, key,
                     max_images_per_program, certify: bool = True,
                     certificates: Optional[Certificates] = None,
                     start: Optional[np.ndarray] = None) -> np.ndarray:
  """Ascending eps, attacking only the still-correct examples; bool (E, N), cumulated.

  `certify`: skip the examples linear or interval bounds prove robust at eps
  (for AttackSpec attacks on models the bounds cover, where `worth_certifying`),
  read from `certificates` when given, else certified here.
  `start`: bool (E, N), cumulated verdicts of attacks run before this one; only
  examples still correct there are attacked, and the result is the worst case
  of both (an attack ensemble run one attack after another).
  """
  correct = np.zeros((eps.size, labels.shape[0]), bool)
  alive = _clean_correct_indices(apply_fn, variables, images, labels,
                                 max_images_per_program)
  # reach[i]: the largest grid index at which example i is proven robust (-1:
  # none). A certificate at one radius covers every smaller radius (the balls
  # nest), so the example is not attacked up to there: same verdict, for certain.
  reach = np.full(labels.shape[0], -1)
  box_scale = _linf_box_scale(attack)
  if certify and box_scale is not None:
    if certificates is not None:
      reach = certificates.reach(eps, box_scale)
    elif worth_certifying(attack, eps.size):
      found = certified_reach(apply_fn, variables, images, labels, alive, eps * box_scale,
                              max_images_per_program)
      if found is not None:
        reach[alive] = found
  for e, radius in enumerate(eps):
    if start is not None:
      alive = alive[start[e, alive]]
    if radius == 0:  # The zero ball holds only the clean image: alive means correct.
      correct[e, alive] = True
      continue
    verdict = np.ones(alive.size, bool)
    todo = np.flatnonzero(reach[alive] < e)
    verdict[todo] = correct_at(attack, apply_fn, variables, images, labels, alive[todo],
                               np.full(todo.size, radius), key, max_images_per_program)
    alive = alive[verdict]
    correct[e, alive] = True
  return correct


# What certifying an example costs, in attack gradient steps (forward and
# backward passes) on the same example: one interval pass (two forwards) plus
# one backward pass per other class; the value is measured (benchmarks/README.md,
# and benchmarks/robustness_curve.py prints the seconds a curve spends certifying).
CERTIFY_COST_IN_STEPS = 3.5
# The most certifying may add to a curve's attack cost where it proves nothing.
MAX_CERTIFY_OVERHEAD = 1 / 8


def worth_certifying(attack, grid_size: int) -> bool:
  """Whether to certify before attacking over a grid of `grid_size` radii: the
  bisection (`certified_reach`, about log2(grid_size) certificates per example)
  must cost at most MAX_CERTIFY_OVERHEAD of attacking every radius, so that a
  model nothing can be proven for loses little (an FGSM curve is never worth it)."""
  steps = getattr(attack, 'steps', 1) * getattr(attack, 'restarts', 1)
  passes = math.ceil(math.log2(grid_size + 1))
  return passes * CERTIFY_COST_IN_STEPS <= MAX_CERTIFY_OVERHEAD * grid_size * steps


def certified_reach(apply_fn, variables, images, labels, indices: np.ndarray,
                    radii: np.ndarray, max_images_per_program: int) -> Optional[np.ndarray]:
  """For each example of `indices`, the largest index of the ascending `radii`
  ([0, 1] units) at which bounds prove it robust, -1 where none is found; None
  when the model has an operation the bounds do not cover.

  Bisection over the grid: about log2(len(radii)) certification passes, not
  one per radius. Only radii actually proven are reported, so the answer is
  sound even where the bounds are not monotone in the radius (bisection may
  then miss a larger provable radius, which costs attacks, never a verdict).
  """
  # One padded chunk size for every pass: each new shape costs seconds of
  # tracing and compiling, more than the padding's wasted work. The first pass
  # takes every example, so the chunk fits them with little padding.
  chunks = max(1, -(-indices.size // max_images_per_program))
  chunk = devices.round_up(min(max_images_per_program,
                               MIN_BUCKET * -(-indices.size // (chunks * MIN_BUCKET))))
  proven_at = np.full(indices.size, -1)  # Proven there (-1: nothing yet).
  refuted_at = np.full(indices.size, radii.size)  # Not proven there (or past the grid).
  while True:
    open_ = np.flatnonzero(refuted_at - proven_at > 1)
    if open_.size == 0:
      return proven_at
    middle = (proven_at[open_] + refuted_at[open_]) // 2
    proven = certified_at(apply_fn, variables, images, labels, indices[open_],
                          radii[middle], max_images_per_program, chunk)
    if proven is None:
      return None
    proven_at[open_[proven]] = middle[proven]
    refuted_at[open_[~proven]] = middle[~proven]


def certified_at(apply_fn, variables, images, labels, indices: np.ndarray, radii,
                 max_images_per_program: int,
                 chunk: Optional[int] = None) -> Optional[np.ndarray]:
  """Whether linear or interval bounds prove each example of `indices` robust in
  the L-inf ball of its radius (`radii`: one for all, or (M,)), bool (M,); None
  when the model has an operation the bounds do not cover. `chunk`: pad every
  chunk to this size (default: `chunk_size`'s few sizes)."""
  radii = np.broadcast_to(np.asarray(radii, np.float32), indices.shape)

  def run(idx, start, size):
    pad = lambda array: devices.split(eps_grid.padded(array, size)[0])
    # Full float32 products: a GPU's TF32 or a TPU's bfloat16 passes would
    # round the bounds far beyond the slack they are trusted with.
    with jax.default_matmul_precision('highest'):
      return _certified_jit(apply_fn, variables, pad(images[idx]), pad(labels[idx]),
                            pad(radii[start:start + idx.size]))
  try:
    return _over_chunks(indices, max_images_per_program, run, chunk)
  except interval_bounds.UnsupportedModel as error:
    logging.info('certificates off for this model (attacking every example): %s', error)
    return None


def _linf_box_scale(attack) -> Optional[float]:
  """L-inf box radius per unit of grid eps: 1 for L-inf attacks, the L2 radius scale
  for L2 attacks (the L-inf box of the L2 radius contains the L2 ball); None for
  attacks that do not say their norm."""
  if not isinstance(attack, registry.AttackSpec):
    return None
  return attack.eps_scale if attack.norm == 'l2' else 1.0


@xla_options.jit(static_argnums=0)
def _certified_jit(apply_fn, variables, x, y, radius):
  return linear_bounds.certified(lambda images: apply_fn(variables, images), x, y, radius)


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
    pad = lambda array: devices.split(eps_grid.padded(array, size)[0])
    return _correct_at_jit(attack, apply_fn, variables, pad(images[idx]), pad(labels[idx]),
                           pad(radii[start:start + idx.size].astype(np.float32)), key,
                           pad(idx.astype(np.int32)))
  return _over_chunks(indices, max_images_per_program, run)


def _over_chunks(indices: np.ndarray, cap: int, run, fixed_size: Optional[int] = None
                 ) -> np.ndarray:
  """bool (M,): `run(idx, start, size)` over consecutive chunks `idx` of `indices`,
  each padded by `run` to `size`: `fixed_size`, else `chunk_size`'s (few
  compiled shapes), rounded up to a multiple of the devices sharing it."""
  out = np.zeros(indices.size, bool)
  start = 0
  while start < indices.size:
    size = devices.round_up(fixed_size or chunk_size(indices.size - start, cap))
    idx = indices[start:start + size]
    out[start:start + idx.size] = devices.to_host(run(idx, start, size))[:idx.size]
    start += idx.size
  return out


def chunk_size(remaining: int, cap: int) -> int:
  """Next chunk's padded size: `cap`, else the largest MIN_BUCKET x BUCKET_RATIO**k
  <= `remaining` (at least MIN_BUCKET). E.g. 300 images go as 256 + 16 + 16 + 12
  padded to 16: at most a few compiled shapes (each compile costs seconds on a
  CPU), shared by every eps, and fewer than MIN_BUCKET padded images per call of
  `correct_at`.
  """
  if remaining >= cap:
    return cap
  size = MIN_BUCKET
  while size * BUCKET_RATIO <= remaining:
    size *= BUCKET_RATIO
  return min(cap, size)


@xla_options.jit(static_argnums=(0, 1))
def _correct_at_jit(attack, apply_fn, variables, x, y, radii, key, indices):
  logits_fn = lambda images: apply_fn(variables, images)
  x_adv = attack(logits_fn, x, y, radii, eps_grid.keys_of(key, indices))
  return objectives.correct(logits_fn(x_adv), y)


def _clean_correct_indices(apply_fn, variables, images, labels, batch_size) -> np.ndarray:
  return np.flatnonzero(eps_grid.clean_correct(apply_fn, variables, images, labels,
                                               batch_size))
