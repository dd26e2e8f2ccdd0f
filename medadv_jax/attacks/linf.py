"""The paper's L-infinity attacks (FGSM, PGD) and their parts, as used by training.

`pgd` and `fgsm` are `attacks.pgd` with the L-inf norm and cross-entropy loss;
they return the first iterate that is misclassified (per example), else the
last iterate. The single-key parts below (`project`, `uniform_start`,
`sign_ascent`) are the building blocks the training attacks use.
"""

import dataclasses

import jax
import jax.numpy as jnp

from medadv_jax.attacks import norms
from medadv_jax.attacks import pgd as pgd_lib


def project(x_adv: jnp.ndarray, x: jnp.ndarray, eps) -> jnp.ndarray:
  """Nearest point of the eps-ball around `x` that is also inside [0, 1]."""
  return norms.project(x_adv, x, eps, 'linf')


def uniform_start(x: jnp.ndarray, eps, key: jax.Array) -> jnp.ndarray:
  """A uniformly random point of the eps-ball, clipped to [0, 1] (one key for the batch)."""
  noise = jax.random.uniform(key, x.shape, x.dtype, minval=-1.0, maxval=1.0)
  return project(x + eps * noise, x, eps)


def sign_ascent(x_cur: jnp.ndarray, grad: jnp.ndarray, step_size) -> jnp.ndarray:
  """Steepest ascent under the L-infinity norm."""
  return norms.ascent_step(x_cur, grad, step_size, 'linf')


def pgd(logits_fn, x, y, eps, key, *, steps: int, step_size_frac: float,
        random_start: bool = True, target_mode: str = 'untargeted') -> jnp.ndarray:
  """PGD on the cross-entropy inside the L-inf eps-ball; see `attacks.pgd.pgd`.

  x (N, H, W, C) in [0, 1], y (N,), eps scalar or (N,) in [0, 1] pixel units,
  key one key or (N,) per-example keys. Returns x_adv of x's shape.
  """
  return pgd_lib.pgd(logits_fn, x, y, eps, key, steps=steps, step_size_frac=step_size_frac,
                     random_start=random_start, target_mode=target_mode, norm='linf',
                     loss='ce')


def fgsm(logits_fn, x, y, eps, key, *, target_mode: str = 'untargeted') -> jnp.ndarray:
  """Fast gradient sign method: one step of size eps from the clean image."""
  return pgd_lib.fgsm(logits_fn, x, y, eps, key, target_mode=target_mode, norm='linf')

ATTACK_NAMES = ('fgsm', 'pgd')


@dataclasses.dataclass(frozen=True)
class LinfAttack:
  """An attack with its options bound: `(logits_fn, x, y, eps, key) -> x_adv`.

  Hashes by value, so it can be a static argument of jitted programs and equal
  attacks share one compiled program. `key` is one key or (N,) per-example keys.
  """
  name: str  # One of ATTACK_NAMES.
  target: str = 'untargeted'  # One of objectives.TARGET_MODES.
  steps: int = 1  # PGD only; FGSM is one step.
  step_size_frac: float = 0.1  # PGD only; FGSM steps by eps.
  random_start: bool = True  # PGD only; FGSM starts at the clean image.

  def __call__(self, logits_fn, x, y, eps, key):
    if self.name == 'fgsm':
      return fgsm(logits_fn, x, y, eps, key, target_mode=self.target)
    return pgd(logits_fn, x, y, eps, key, steps=self.steps,
               step_size_frac=self.step_size_frac, random_start=self.random_start,
               target_mode=self.target)
