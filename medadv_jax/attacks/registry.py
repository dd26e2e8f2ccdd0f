"""Every evaluation attack by name, options bound in one hashable spec.

`AttackSpec(...)` is `(logits_fn, x, y, eps, key) -> x_adv`; it hashes by value,
so it is a static argument of jitted programs and equal specs share one
compiled program. `eps` is the grid value in [0, 1] L-inf pixel units; L2
attacks scale it by `eps_scale` to their Euclidean radius.
"""

import dataclasses
import zlib

import jax
import jax.numpy as jnp

from medadv_jax.attacks import apgd, fab, norms, objectives, pgd, square

ATTACK_NAMES = ('fgsm', 'pgd', 'pgd_l2', 'apgd_ce', 'apgd_dlr', 'square', 'fab')
GRADIENT_FREE = ('square',)
_NORM = {'pgd_l2': 'l2'}


@dataclasses.dataclass(frozen=True)
class AttackSpec:
  """An evaluation attack with its options bound."""
  name: str  # One of ATTACK_NAMES.
  target: str = 'untargeted'  # One of objectives.TARGET_MODES.
  steps: int = 1  # Gradient steps (FAB: iterations); model queries for 'square'; FGSM is 1.
  step_size_frac: float = 0.1  # PGD only: step length as a fraction of the radius.
  # PGD, APGD and FAB (FAB: at half the radius); FGSM starts at the clean image.
  random_start: bool = True
  restarts: int = 1  # Runs from fresh random starts; the first success is kept.
  eps_scale: float = 1.0  # Radius = eps_scale x eps (for L2 attacks).
  p_init: float = 0.8  # Square only: initial window area fraction.

  @property
  def norm(self) -> str:
    return _NORM.get(self.name, 'linf')

  @property
  def gradient_free(self) -> bool:
    return self.name in GRADIENT_FREE

  def __call__(self, logits_fn, x, y, eps, key):
    radius = self.eps_scale * eps if self.eps_scale != 1.0 else eps
    keys = norms.example_keys(key, x.shape[0])
    x_adv = self._single_run(logits_fn, x, y, radius, keys)
    if self.restarts == 1:
      return x_adv

    def restart(r, carry):
      x_best, fooled = carry
      x_r = self._single_run(logits_fn, x, y, radius, norms.fold_in_each(keys, r))
      # Restart 0 used `keys` itself, so k restarts contain the run of k - 1.
      x_best = jnp.where(norms.broadcastable(fooled, x), x_best, x_r)
      return x_best, fooled | objectives.misclassified(logits_fn(x_r), y)

    fooled = objectives.misclassified(logits_fn(x_adv), y)
    return jax.lax.fori_loop(1, self.restarts, restart, (x_adv, fooled))[0]

  def _single_run(self, logits_fn, x, y, eps, keys):
    if self.name == 'fgsm':
      return pgd.fgsm(logits_fn, x, y, eps, keys, target_mode=self.target)
    if self.name in ('pgd', 'pgd_l2'):
      return pgd.pgd(logits_fn, x, y, eps, keys, steps=self.steps,
                     step_size_frac=self.step_size_frac, random_start=self.random_start,
                     target_mode=self.target, norm=self.norm)
    if self.name in ('apgd_ce', 'apgd_dlr'):
      return apgd.apgd(logits_fn, x, y, eps, keys, steps=self.steps,
                       loss=self.name.split('_')[1], target_mode=self.target,
                       norm=self.norm, random_start=self.random_start)
    if self.name == 'square':
      return square.square(logits_fn, x, y, eps, keys, queries=self.steps,
                           target_mode=self.target, p_init=self.p_init)
    if self.name == 'fab':
      return fab.fab_at(logits_fn, x, y, eps, keys, steps=self.steps,
                        target_mode=self.target, random_start=self.random_start)
    raise ValueError(f'unknown attack {self.name!r}; allowed {ATTACK_NAMES}')

  def with_steps(self, steps: int) -> 'AttackSpec':
    return dataclasses.replace(self, steps=steps)


def attack_key(seed: int, spec: AttackSpec, scope: str = '') -> jax.Array:
  """The attack's key: from the seed, `scope` (what the attack is run for) and
  the attack's name and target only, so adding or removing other attacks, or
  changing its step count, keeps its random starts."""
  tag = zlib.crc32(f'{scope}{spec.name}/{spec.target}'.encode()) & 0x7FFFFFFF
  return jax.random.fold_in(jax.random.key(seed), tag)
