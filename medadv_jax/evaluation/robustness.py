"""Evaluates one trained model: clean accuracy, each attack over the eps grid,
their per-image worst case (the ensemble), and the gradient-masking sanity checks.

`evaluate_model` gives the results rows; `evaluate_model_with_details` also gives
each attacked image's smallest fooling radius (`per_image_min_eps`), which the
study writes to per_image.json.
"""

import math
import zlib

import jax
import numpy as np
from absl import logging

from medadv_jax import cell_data
from medadv_jax.attacks import eps_grid, min_eps, schedules
from medadv_jax.attacks.from_config import attack_specs, images_per_program
from medadv_jax.data.dataset import attack_subset
from medadv_jax.evaluation import sanity
from medadv_jax.intervals import wilson_interval
from medadv_jax.models.eval_apply import EvalApply
from medadv_jax.runtime import devices

ENSEMBLE = 'ensemble'
# Attacks whose step count the more-steps check doubles, in order of preference.
_MORE_STEPS_REFERENCE = ('pgd', 'apgd_ce', 'apgd_dlr', 'pgd_l2')


def evaluate_model(model, variables, dataset, config, seed: int) -> list[dict]:
  """The results rows of `evaluate_model_with_details`, without the per-image data."""
  return evaluate_model_with_details(model, variables, dataset, config, seed)[0]


def evaluate_model_with_details(model, variables, dataset, config,
                                seed: int) -> tuple[list[dict], dict]:
  """(rows, per_image) for one model: rows of (attack, eps, accuracy, n, 95 % Wilson
  interval, ...), and `per_image_min_eps`'s dict for the same attacks.

  One row per attack and eps, plus attack='ensemble' rows per norm: an image is
  robust at eps only if every attack of that norm failed on it. The reported
  accuracy at eps is the worst case over every radius up to eps (see
  `eps_grid.worst_case_so_far`); `accuracy_single_eps` is the attack run at that
  radius alone (already cumulated under the 'cascade' and 'min_eps' schedules).
  Every row also carries the model's sanity checks as sanity_* columns
  (`sanity.as_columns`; `sanity_summary` turns rows back into a dict).
  """
  c = config.attack
  apply_fn, batch = EvalApply(model), images_per_program(c)
  variables = devices.replicate(variables)  # Once, for every attack program.
  clean_test_accuracy = float(np.mean(eps_grid.clean_correct(
      apply_fn, variables, dataset.test_images, dataset.test_labels, batch)))
  subset = attack_subset(dataset.test_labels, config.data.attack_per_class, seed)
  images, labels = dataset.test_images[subset], dataset.test_labels[subset]
  clean = eps_grid.clean_correct(apply_fn, variables, images, labels, batch)
  eps_255 = np.asarray(c.eps_255, np.float64)
  # The large-radius check rides along as one more (largest) radius of the grid.
  large_255 = float(c.sanity.large_eps_255)
  radii_255 = np.append(eps_255, large_255) if large_255 > eps_255[-1] else eps_255
  schedule = schedules.resolve(c.schedule)
  run_attack = lambda spec, radii, key, schedule=schedule: schedules.evaluate(
      schedule, spec, apply_fn, variables, images, labels,
      (np.asarray(radii) / 255.0).astype(np.float32), key, batch)

  runs = []
  for spec in attack_specs(c, dataset.image_shape):
    runs.append(_as_run(spec, run_attack(spec, radii_255, attack_key(seed, spec)),
                        eps_255.size))
    logging.info('  %s: accuracy %.3f at eps 0 -> %.3f at eps %g/255',
                 cell_data.attack_label(_fields(spec)), runs[-1].worst[0].mean(),
                 runs[-1].worst[-1].mean(), eps_255[-1])

  ensembles = {norm: _ensemble([r for r in runs if r.spec.norm == norm])
               for norm in dict.fromkeys(r.spec.norm for r in runs)}
  white_box = [r for r in runs if r.spec.norm == 'linf' and not r.spec.gradient_free]
  checks = sanity.run_checks(
      runs, _ensemble(white_box).worst if white_box else None,
      ensembles['linf'].large if 'linf' in ensembles else None, clean, labels,
      float(c.sanity.tolerance), _more_steps_pair(runs, c, eps_255, run_attack, seed),
      single_radius=schedule in schedules.SINGLE_RADIUS_SCHEDULES)
  logging.info('  sanity checks %s: %s', 'pass' if sanity.all_ok(checks) else 'FAIL',
               ', '.join(f'{n}={checks[n]["ok"]}' for n in sanity.CHECKS))

  # The test-set size gives the clean accuracy its interval in the report.
  common = dict(clean_test_accuracy=clean_test_accuracy,
                clean_test_n=int(dataset.test_labels.shape[0]), schedule=schedule,
                **sanity.as_columns(checks))
  rows = []
  for run in runs:
    rows += _rows(run, dict(_fields(run.spec), **common), eps_255)
  for norm, run in ensembles.items():
    members = '; '.join(cell_data.attack_label(_fields(r.spec)) for r in runs
                        if r.spec.norm == norm)
    fields = dict(attack=ENSEMBLE, target='any', steps=0, norm=norm, restarts=0,
                  eps_scale=run.spec.eps_scale, members=members)
    rows += _rows(run, dict(fields, **common), eps_255)
  labelled = [(cell_data.attack_label(_fields(r.spec)), r) for r in runs]
  labelled += [(cell_data.attack_label(dict(attack=ENSEMBLE, norm=norm)), r)
               for norm, r in ensembles.items()]
  return rows, per_image_min_eps(labelled, clean, eps_255, subset)


def per_image_min_eps(labelled_runs, clean: np.ndarray, eps_255: np.ndarray,
                      test_indices: np.ndarray) -> dict:
  """Each attacked image's smallest fooling grid radius, as plain JSON data.

  Args:
    labelled_runs: (attack label, AttackRun) pairs; `run.worst` is bool (E, N).
    clean: bool (N,) clean correctness of the attacked images.
    eps_255: (E,) ascending grid, x 1/255.
    test_indices: (N,) int, where the attacked images sit in the test set.

  Returns:
    {'eps_255': grid, 'test_indices': (N,), 'clean_correct': (N,) bools,
     'min_eps_255': {label: (N,) radii x 1/255}}. A radius is the first grid
    eps at which the image is misclassified (the grid's first radius for an
    image already wrong when clean), None if no radius of the grid fools it.
  """
  def as_list(radii):
    return [float(r) if np.isfinite(r) else None for r in radii]
  return {
      'eps_255': [float(e) for e in eps_255],
      'test_indices': [int(i) for i in test_indices],
      'clean_correct': [bool(c) for c in clean],
      'min_eps_255': {label: as_list(min_eps.min_eps_of(
          min_eps.first_fooled_index(run.worst), eps_255)) for label, run in labelled_runs},
  }


def sanity_summary(rows) -> dict:
  """The sanity checks of one model's rows, as {check: {'ok', 'value'}} (for sanity.json)."""
  first = rows[0]
  out = {'ok': first['sanity_ok'], 'tolerance': first['sanity_tolerance']}
  for name in sanity.CHECKS:
    out[name] = {'ok': first[f'sanity_{name}'], 'value': first[f'sanity_{name}_value']}
  return out


def attack_key(seed: int, spec) -> jax.Array:
  """The attack's key: from the seed and the attack's name and target only, so adding
  or removing other attacks, or changing its step count, keeps its random starts."""
  tag = zlib.crc32(f'{spec.name}/{spec.target}'.encode()) & 0x7FFFFFFF
  return jax.random.fold_in(jax.random.key(seed), tag)


def _fields(spec) -> dict:
  return dict(attack=spec.name, target=spec.target, steps=spec.steps, norm=spec.norm,
              restarts=spec.restarts, eps_scale=spec.eps_scale)


def _as_run(spec, verdict: np.ndarray, grid_size: int) -> sanity.AttackRun:
  worst = eps_grid.worst_case_so_far(verdict)
  large = worst[grid_size] if verdict.shape[0] > grid_size else None
  return sanity.AttackRun(spec, verdict[:grid_size], worst[:grid_size], large)


def _ensemble(runs) -> sanity.AttackRun:
  """Per-image worst case over `runs`: robust only if every attack failed."""
  def both(name):
    arrays = [getattr(r, name) for r in runs]
    return None if any(a is None for a in arrays) else np.logical_and.reduce(arrays)
  return sanity.AttackRun(runs[0].spec, both('single'), both('worst'), both('large'))


def _more_steps_pair(runs, c, eps_255, run_attack, seed):
  """(base, doubled) verdicts (S, N) of the reference attack at the check's radii."""
  radii_255 = np.asarray(c.sanity.more_steps_eps_255, np.float64)
  candidates = [r for r in runs if r.spec.name in _MORE_STEPS_REFERENCE]
  if radii_255.size == 0 or not candidates:
    return None
  run = min(candidates, key=lambda r: (_MORE_STEPS_REFERENCE.index(r.spec.name),
                                       r.spec.target != 'untargeted'))
  # Same keys as the run itself: the two differ only in their number of steps.
  doubled = run_attack(run.spec.with_steps(2 * run.spec.steps), radii_255,
                       attack_key(seed, run.spec), 'loop')
  positions = [np.flatnonzero(np.isclose(eps_255, r)) for r in radii_255]
  if (schedules.resolve(c.schedule) in schedules.SINGLE_RADIUS_SCHEDULES
      and all(p.size for p in positions)):
    base = run.single[[int(p[0]) for p in positions]]
  else:  # Cascade and bisection do not keep the single-radius verdicts.
    base = run_attack(run.spec, radii_255, attack_key(seed, run.spec), 'loop')
  return base, doubled


def _rows(run: sanity.AttackRun, fields: dict, eps_255: np.ndarray) -> list[dict]:
  n = run.worst.shape[1]
  min_eps_255 = min_eps.min_eps_of(min_eps.first_fooled_index(run.worst), eps_255)
  median = float(np.median(min_eps_255)) if n else math.inf
  rows = []
  for e, eps in enumerate(eps_255):
    correct = int(run.worst[e].sum())
    low, high = wilson_interval(correct, n)
    rows.append(dict(
        fields, eps=float(eps / 255.0), eps_255=float(eps),
        eps_radius=float(fields['eps_scale'] * eps / 255.0),
        accuracy=correct / n if n else 0.0, n=int(n), ci_low=low, ci_high=high,
        accuracy_single_eps=float(run.single[e].mean()) if n else 0.0,
        # Beyond the grid (more than half the images never fooled): None.
        median_min_eps_255=median if math.isfinite(median) else None))
  return rows
