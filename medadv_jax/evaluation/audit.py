"""The audit: is the study's worst case as strong for every model size?

On a fixed sample of attacked images (chosen from the seed alone, so every size
of a seed is audited on the same images; the clean-correct ones are kept), at
the audit radii, AutoAttack's full budget: FAB-T (minimum-norm, every other
class as a target), APGD-CE with restarts, targeted APGD-DLR over the other
classes and Square. The shortfall is the images the study's worst case calls
robust but the audit fools; if it grew with size, a size verdict would be an
attack artefact (reporting/claims/audit.py). FAB-T also gives each image's
smallest fooling radius, compared there with the study's.
"""

import dataclasses
import time
from typing import Optional

import jax
import numpy as np
from absl import logging

from medadv_jax.attacks import eps_grid, fab, min_eps, norms, objectives, registry
from medadv_jax.evaluation import strong
from medadv_jax.ops import xla_options
from medadv_jax.runtime import devices

NAME = 'audit'
FAB_LABEL = 'fab_targeted'
# Mixed into the seed that draws the sample, so it is not the attacked set's draw.
_SAMPLE_TAG = 0xA0D17


def specs(audit_config, num_classes: int, multilabel: bool) -> list[registry.AttackSpec]:
  """The audit's fixed-radius attacks, in the order they run."""
  c = audit_config
  out = [registry.AttackSpec('apgd_ce', 'untargeted', steps=c.apgd_steps,
                             restarts=c.apgd_restarts)]
  out += [registry.AttackSpec('apgd_dlr', target, steps=c.apgd_steps)
          for target in fab_targets(c, num_classes, multilabel)]
  if multilabel:
    out.append(registry.AttackSpec('apgd_dlr', 'untargeted', steps=c.apgd_steps))
  out.append(registry.AttackSpec('square', 'untargeted', steps=c.square_queries,
                                 p_init=c.square_p_init))
  return out


def fab_targets(audit_config, num_classes: int, multilabel: bool) -> list[str]:
  """The targeted attacks' targets: the clean prediction's runners-up (none multi-label)."""
  if multilabel:
    return []
  return [f'top{k}' for k in range(2, min(num_classes, audit_config.target_classes + 1) + 1)]


def budget(audit_config, num_classes: int, multilabel: bool) -> str:
  c = audit_config
  targets = len(fab_targets(c, num_classes, multilabel))
  at = f'{targets} target{"s" if targets != 1 else ""}'
  return (f'FAB-T {c.fab_steps} steps x {at}; APGD-CE {c.apgd_steps} steps x '
          f'{c.apgd_restarts} restarts; APGD-DLR {c.apgd_steps} steps x {at}; Square '
          f'{c.square_queries} queries')


def sample(attacked: int, images: int, seed: int) -> np.ndarray:
  """Positions in the attacked set to audit, ascending: from the seed alone."""
  order = np.random.default_rng([seed, _SAMPLE_TAG]).permutation(attacked)
  return np.sort(order[:images])


def radii_255(audit_config, eps_255) -> np.ndarray:
  """The audit radii (x 1/255) that are also grid radii (the study's verdicts exist there)."""
  grid = set(np.asarray(eps_255, float))
  return np.array([float(r) for r in audit_config.eps_255 if float(r) in grid], np.float64)


@dataclasses.dataclass
class AuditRecord:
  """What the audit found on one model; arrays over R radii and M audited images."""
  eps_255: np.ndarray  # (R,)
  positions: np.ndarray  # (M,) positions of the audited images in the attacked set.
  study_robust: np.ndarray  # bool (R, M): the study's worst case left them correct.
  robust: np.ndarray  # bool (R, M): also after every audit attack.
  fooled_by: dict  # {attack label: (R,) images of the shortfall it found first}.
  fab_min_eps_255: np.ndarray  # (M,) FAB-T's smallest fooling radius; inf: none found.
  study_min_eps_255: np.ndarray  # (M,) the study's smallest fooling grid radius; inf: none.
  grid_255: np.ndarray  # (E,) the study's grid.
  budget: str
  seconds: dict

  @property
  def shortfall(self) -> np.ndarray:
    """(R,) images the study calls robust that the audit fools."""
    return np.sum(self.study_robust & ~self.robust, axis=1)

  def as_json(self, test_indices: np.ndarray) -> dict:
    finite = lambda a: [float(v) if np.isfinite(v) else None for v in a]
    return {
        'eps_255': [float(e) for e in self.eps_255], 'budget': self.budget,
        'test_indices': [int(test_indices[p]) for p in self.positions],
        'audited': int(self.positions.size),
        'study_robust': [int(k) for k in self.study_robust.sum(axis=1)],
        'shortfall': [int(k) for k in self.shortfall],
        # Per radius, per audited image: still correct after the study and the audit.
        'robust': [[bool(v) for v in at] for at in self.robust],
        'fooled_by': {k: [int(v) for v in counts] for k, counts in self.fooled_by.items()},
        'fab_min_eps_255': finite(self.fab_min_eps_255),
        'study_min_eps_255': finite(self.study_min_eps_255),
        'grid_eps_255': [float(e) for e in self.grid_255],
        'seconds': {k: round(v, 2) for k, v in self.seconds.items()}}


def run(target, audit_config, eps_255: np.ndarray, study_worst: np.ndarray, seed: int,
        num_classes: int) -> Optional[AuditRecord]:
  """The audit of one model (`target`: robustness._Target), or None when it is off.

  Args:
    eps_255: (E,) the study's grid; study_worst: bool (E, N) its per-image worst
      case over the grid (cumulated), for the N attacked images of `target`.
  """
  c = audit_config
  radii = radii_255(c, eps_255)
  if c.images == 0 or radii.size == 0:
    return None
  positions = sample(target.labels.shape[0], c.images, seed)
  positions = positions[target.clean[positions]]
  images, labels = target.images[positions], target.labels[positions]
  multilabel = labels.ndim == 2
  at = np.searchsorted(eps_255, radii)
  study_robust = study_worst[at][:, positions]
  seconds, fooled_by = {}, {}
  start = time.perf_counter()
  fab_radius = np.full(positions.size, np.inf)
  verdict = study_robust.copy()
  if not multilabel and positions.size:
    fab_radius, fab_correct = _fab_targeted(target, images, labels, radii / 255.0,
                                            fab_targets(c, num_classes, multilabel),
                                            c.fab_steps, seed)
    fooled_by[FAB_LABEL] = verdict & ~fab_correct
    verdict = verdict & fab_correct
  seconds[FAB_LABEL] = time.perf_counter() - start
  if positions.size:
    verdict = strong.evaluate(specs(c, num_classes, multilabel), target.apply_fn,
                              target.variables, images, labels, radii / 255.0, verdict,
                              seed, target.batch, seconds=seconds, fooled_by=fooled_by,
                              scope=NAME)
  study_radius = min_eps.min_eps_of(min_eps.first_fooled_index(study_worst[:, positions]),
                                    eps_255)
  record = AuditRecord(radii, positions, study_robust, verdict,
                       {k: v.sum(axis=1) for k, v in fooled_by.items()},
                       fab_radius * 255.0, np.asarray(study_radius, float),
                       np.asarray(eps_255, float), budget(c, num_classes, multilabel), seconds)
  logging.info('  audit of %d images at %s/255: study robust %s, shortfall %s (%.1f s)',
               positions.size, ', '.join(f'{r:g}' for r in radii),
               [int(k) for k in study_robust.sum(axis=1)], [int(k) for k in record.shortfall],
               sum(seconds.values()))
  return record


def _fab_targeted(target, images, labels, radii: np.ndarray, targets, steps: int,
                  seed: int):
  """((M,) FAB-T's smallest fooling radius over `targets`, [0, 1] units, inf where
  none; bool (R, M) still correct at each radius with its closest point projected
  into the ball), run in chunks of the target's program size."""
  n = labels.shape[0]
  radius, best = np.full(n, np.inf), images.copy()
  for mode in targets:
    key = registry.attack_key(seed, registry.AttackSpec('fab', mode), f'{NAME}/')
    for begin in range(0, n, target.batch):
      idx = np.arange(begin, min(n, begin + target.batch))
      size = devices.round_up(idx.size)
      pad = lambda a: devices.split(eps_grid.padded(a, size)[0])
      x_adv, r = _fab_jit(target.apply_fn, mode, steps, target.variables, pad(images[idx]),
                          pad(labels[idx]), key, pad(idx.astype(np.int32)))
      r = np.asarray(devices.to_host(r))[:idx.size]
      closer = r < radius[idx]
      radius[idx[closer]] = r[closer]
      best[idx[closer]] = np.asarray(devices.to_host(x_adv))[:idx.size][closer]
  correct = np.asarray(devices.to_host(_projected_correct_jit(
      target.apply_fn, target.variables, images, labels, best,
      np.asarray(radii, np.float32))))
  return radius, correct


@xla_options.jit(static_argnums=(0, 1, 2))
def _fab_jit(apply_fn, target_mode, steps, variables, x, y, key, indices):
  return fab.fab(lambda images: apply_fn(variables, images), x, y,
                 eps_grid.keys_of(key, indices), steps=steps, target_mode=target_mode)


@xla_options.jit(static_argnums=0)
def _projected_correct_jit(apply_fn, variables, x, y, x_adv, radii):
  """bool (R, M): correct at `x_adv` projected into each radius's ball."""
  def at(radius):
    point = norms.project(x_adv, x, radius, 'linf')
    return objectives.correct(apply_fn(variables, point), y)
  return jax.vmap(at)(radii)
