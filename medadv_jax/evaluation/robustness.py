"""Evaluates one trained model in stages, each returning a record: clean
metrics, certificates, the paper's attacks over the eps grid and their per-image
worst case (the ensemble), the strong attack, the gradient-masking sanity
checks and the audit (`audit`); `rows` builds the results rows from them.

`evaluate` gives all of it (`Evaluation`); `evaluate_model` the rows alone;
`evaluate_model_with_details` the rows and each attacked image's smallest
fooling radius (`per_image_min_eps`), which the study writes to per_image.json.
"""

import dataclasses
import time
from typing import Optional

import numpy as np
from absl import logging

from medadv_jax import cell_data
from medadv_jax.attacks import eps_grid, min_eps, objectives, registry, schedules
from medadv_jax.attacks import from_config
from medadv_jax.attacks.from_config import attack_specs, images_per_program
from medadv_jax.data.dataset import attack_subset
from medadv_jax.evaluation import (audit, certificate_check, clean_metrics, fitness, sanity,
                                   strong)
from medadv_jax.evaluation import rows as rows_lib
from medadv_jax.models.eval_apply import EvalApply
from medadv_jax.runtime import devices

ENSEMBLE = rows_lib.ENSEMBLE
# Attacks whose step count the more-steps check doubles, in order of preference.
_MORE_STEPS_REFERENCE = ('pgd', 'apgd_ce', 'apgd_dlr', 'pgd_l2')


def evaluate_model(model, variables, dataset, config, seed: int, training=None) -> list[dict]:
  """The results rows of `evaluate`, without the per-image data (and no audit)."""
  return evaluate(model, variables, dataset, config, seed, training, run_audit=False).rows


def evaluate_model_with_details(model, variables, dataset, config, seed: int,
                                training=None,
                                timing: Optional[dict] = None) -> tuple[list[dict], dict]:
  """(rows, per_image) of `evaluate` (no audit); `timing`, if given, receives its seconds."""
  result = evaluate(model, variables, dataset, config, seed, training, run_audit=False)
  if timing is not None:
    timing.update(result.timing)
  return result.rows, result.per_image


@dataclasses.dataclass(frozen=True)
class _Target:
  """What one evaluation attacks: a model's eval-mode function and variables
  (placed on the run's devices), the attacked test images and their clean verdicts."""
  apply_fn: EvalApply
  variables: dict
  images: np.ndarray
  labels: np.ndarray
  clean: np.ndarray  # bool (N,)
  batch: int  # images_per_program
  schedule: str  # Resolved.

  def run(self, spec, radii_255, key, schedule=None, certificates=None) -> np.ndarray:
    """`schedules.evaluate` of `spec` at `radii_255` (x 1/255), bool (E, N)."""
    return schedules.evaluate(schedule or self.schedule, spec, self.apply_fn, self.variables,
                              self.images, self.labels,
                              (np.asarray(radii_255) / 255.0).astype(np.float32), key,
                              self.batch, certificates=certificates)


@dataclasses.dataclass(frozen=True)
class Evaluation:
  """One model's evaluation: results rows, per-image radii (per_image.json), the
  audit (audit.json; None when off) and each stage's seconds (timing.json)."""
  rows: list
  per_image: dict
  audit: Optional[dict]
  timing: dict


@dataclasses.dataclass(frozen=True)
class CleanRecord:
  test_logits: np.ndarray  # (T, K) on the whole test set.
  metrics: clean_metrics.CleanMetrics
  fit: Optional[dict]  # fitness.assess's, None when the config has no fitness section.


@dataclasses.dataclass(frozen=True)
class CertifyRecord:
  certificates: Optional[schedules.Certificates]
  check: Optional[certificate_check.CertificateCheck]


@dataclasses.dataclass(frozen=True)
class PaperRecord:
  runs: list  # sanity.AttackRun per configured attack.
  ensembles: dict  # {norm: per-image worst case over that norm's attacks}.


@dataclasses.dataclass(frozen=True)
class StrongRecord:
  """The strong attack at its radii (`with_strong`: see `_with_strong`; None when
  off), what each member fooled first there, and the whole-box verdict."""
  radii_255: np.ndarray
  with_strong: Optional[tuple]
  fooled_by: dict  # {member label: bool (S, N)}.
  whole_box: Optional[np.ndarray]  # bool (N,) after every attack at 255/255; None: not run.
  seconds: dict


def evaluate(model, variables, dataset, config, seed: int, training=None,
             run_audit: bool = True) -> Evaluation:
  """Every stage for one model (the audit when `run_audit` and configured): rows
  of (attack, eps, accuracy, n, 95 % Wilson interval, ...), and
  `per_image_min_eps`'s dict for the same attacks.

  One row per attack and eps, plus attack='ensemble' rows per norm: an image is
  robust at eps only if every attack of that norm failed on it; and, from the
  strong attack's smallest radius on, attack='strong' rows: the per-image worst
  case of the paper's L-inf attacks and the strong ensemble (`strong`). The reported
  accuracy at eps is the worst case over every radius up to eps (see
  `eps_grid.worst_case_so_far`); `accuracy_single_eps` is the attack run at that
  radius alone (already cumulated under the 'cascade' and 'min_eps' schedules).
  Every row also carries the model's sanity checks as sanity_* columns
  (`sanity.as_columns`; `sanity_summary` turns rows back into a dict), its clean
  test metrics (`clean_metrics`), its fitness (`fitness.assess`, from
  `training`: the `RunMeta` of its training run, or None for a model trained
  elsewhere, whose under-training is then not checked; and `fitness.with_masking`
  from the whole-box check), the attacked set's class counts (n_class_<k>) and,
  per row, accuracy per class (accuracy_class_<k>). Timing: each stage's
  seconds (clean, certify, paper_attacks, strong_attack, sanity_checks, audit),
  and each strong and audit member's under 'strong_attack/<name>_<target>' and
  'audit/<name>_<target>'.
  """
  timing = {}
  clock = _Clock(timing)
  c = config.attack
  target, subset = _target(model, variables, dataset, config, seed)
  clean = clean_stage(target, dataset, config, seed, training)
  clock.lap('clean')
  eps_255 = np.asarray(c.eps_255, np.float64)
  # The large-radius check rides along as one more (largest) radius of the grid.
  large_255 = float(c.sanity.large_eps_255)
  radii_255 = np.append(eps_255, large_255) if large_255 > eps_255[-1] else eps_255
  num_classes = int(dataset.num_classes)
  multilabel = target.labels.ndim == 2
  single_label_classes = 0 if multilabel else num_classes
  paper_specs = attack_specs(c, dataset.image_shape, single_label_classes)
  strong_specs = strong.specs(c.strong, num_classes, multilabel)
  certified = certify_stage(target, c, radii_255, strong_specs, paper_specs, seed)
  clock.lap('certify')
  paper = paper_stage(target, paper_specs, radii_255, eps_255.size, seed,
                      certified.certificates)
  clock.lap('paper_attacks')
  strong_record = strong_stage(target, c, paper, eps_255, strong_specs, seed,
                               certified.certificates)
  timing.update({f'strong_attack/{k}': v for k, v in strong_record.seconds.items()})
  clock.lap('strong_attack')
  checks = sanity_stage(target, c, paper, strong_record, certified.check, eps_255,
                        strong_specs, seed)
  clock.lap('sanity_checks')
  worst = _study_worst(paper, strong_record)
  audit_record = None if not run_audit or getattr(c, 'audit', None) is None else audit.run(
      target, c.audit, eps_255, worst.worst, seed, num_classes)
  if audit_record is not None:
    timing.update({f'audit/{k}': v for k, v in audit_record.seconds.items()})
  clock.lap('audit')

  whole_box = (None if strong_record.whole_box is None
               else float(strong_record.whole_box.mean()))
  fit = fitness.with_masking(clean.fit, whole_box, float(c.sanity.tolerance))
  common = rows_lib.model_columns(clean.metrics, fit, checks, dataset, target.labels,
                                  target.schedule, from_config.least_likely_skipped(
                                      c, single_label_classes))
  rows = rows_lib.build(paper.runs, paper.ensembles, strong_record.with_strong, eps_255,
                        target.labels, common,
                        strong.budget(c.strong, num_classes, multilabel))
  per_image = _per_image(paper, strong_record, worst, target, eps_255, subset,
                         clean.test_logits, dataset.test_labels)
  return Evaluation(rows, per_image,
                    None if audit_record is None else audit_record.as_json(subset), timing)


def clean_stage(target: '_Target', dataset, config, seed: int, training) -> CleanRecord:
  """The model's clean test metrics and fitness."""
  test_logits = eps_grid.clean_logits(target.apply_fn, target.variables,
                                      dataset.test_images, target.batch)
  metrics = clean_metrics.from_logits(test_logits, dataset.test_labels, seed)
  fit = None if getattr(config, 'fitness', None) is None else fitness.assess(
      metrics, [h['val_score'] for h in getattr(training, 'history', ())],
      getattr(training, 'stop_reason', None), config.fitness)
  return CleanRecord(test_logits, metrics, fit)


def certify_stage(target: '_Target', c, radii_255, strong_specs, paper_specs,
                  seed: int) -> CertifyRecord:
  """Checked certificates for the cascade (see `_checked_certificates`)."""
  attackers = [s for s in strong_specs if not s.gradient_free] or [_strongest(paper_specs)]
  return CertifyRecord(*_checked_certificates(target, c, radii_255, attackers, seed))


def paper_stage(target: '_Target', specs, radii_255, grid_size: int, seed: int,
                certificates) -> PaperRecord:
  """The configured attacks over the grid and their per-norm ensembles."""
  runs = _paper_attacks(target, specs, radii_255, grid_size, seed, certificates)
  ensembles = {norm: _ensemble([r for r in runs if r.spec.norm == norm])
               for norm in dict.fromkeys(r.spec.norm for r in runs)}
  return PaperRecord(runs, ensembles)


def strong_stage(target: '_Target', c, paper: PaperRecord, eps_255, strong_specs,
                 seed: int, certificates) -> StrongRecord:
  """The strong attack at its radii and, when the large radius spans the whole
  pixel box, on the images the paper's attacks left correct there."""
  linf = paper.ensembles.get('linf')
  radii = strong_radii_255(c, eps_255)
  seconds, fooled_by = {}, {}
  verdict = _strong_attack(target, linf, eps_255, radii, strong_specs, seed, certificates,
                           seconds, fooled_by)
  with_strong = None if verdict is None else _with_strong(verdict, linf, eps_255, radii)
  whole_box = None
  large = float(c.sanity.large_eps_255)
  if linf is not None and linf.large is not None and large >= 255.0 and strong_specs:
    lap = {}
    whole_box = strong.evaluate(strong_specs, target.apply_fn, target.variables,
                                target.images, target.labels, np.array([large / 255.0]),
                                linf.large[None], seed, target.batch, seconds=lap)[0]
    seconds.update({f'whole_box/{k}': v for k, v in lap.items()})
  return StrongRecord(radii, with_strong, fooled_by, whole_box, seconds)


def _study_worst(paper: PaperRecord, strong_record: StrongRecord) -> sanity.AttackRun:
  """The per-image worst case the verdicts use: the paper's L-inf ensemble, with
  the strong attack from its smallest radius on."""
  linf = paper.ensembles['linf']
  return (linf if strong_record.with_strong is None
          else _worst_with_strong(linf, strong_record.with_strong))


def _per_image(paper, strong_record, worst, target, eps_255, subset, test_logits,
               test_labels) -> dict:
  labelled = [(cell_data.attack_label(rows_lib.fields(r.spec)), r) for r in paper.runs]
  labelled += [(cell_data.attack_label(dict(attack=ENSEMBLE, norm=norm)), r)
               for norm, r in paper.ensembles.items()]
  if strong_record.with_strong is not None:  # The worst case the verdicts use.
    labelled.append((cell_data.attack_label(dict(attack=strong.NAME)), worst))
  per_image = per_image_min_eps(labelled, target.clean, eps_255, subset)
  # Every test image's clean verdict: sizes' clean accuracies compared image by image.
  per_image['test_clean_correct'] = [bool(c) for c in np.asarray(
      objectives.correct(test_logits, test_labels))]
  return per_image


class _Clock:
  """Adds the seconds since the last lap to `timing[stage]`."""

  def __init__(self, timing: dict):
    self.timing, self.last = timing, time.perf_counter()

  def lap(self, stage: str) -> None:
    now = time.perf_counter()
    self.timing[stage] = self.timing.get(stage, 0.0) + now - self.last
    self.last = now


def _worst_with_strong(paper: sanity.AttackRun, with_strong) -> sanity.AttackRun:
  """The paper's L-inf ensemble over the grid, with the strong attack's worst
  case from its smallest radius on (the `attack='strong'` rows, image by image)."""
  at, _, worst = with_strong
  combined = paper.worst.copy()
  combined[at] = worst
  combined = eps_grid.worst_case_so_far(combined)
  return sanity.AttackRun(paper.spec, combined, combined)


def _target(model, variables, dataset, config, seed: int):
  """(_Target, the attacked images' positions in the test set)."""
  apply_fn, batch = EvalApply(model), images_per_program(config.attack)
  variables = devices.replicate(variables)  # Once, for every attack program.
  subset = attack_subset(dataset.test_labels, config.data.attack_per_class, seed)
  images, labels = dataset.test_images[subset], dataset.test_labels[subset]
  clean = eps_grid.clean_correct(apply_fn, variables, images, labels, batch)
  return _Target(apply_fn, variables, images, labels, clean, batch,
                 schedules.resolve(config.attack.schedule)), subset


def _checked_certificates(target: _Target, c, radii_255, attackers, seed: int):
  """(certificates for the cascade or None, certificate_check.CertificateCheck or
  None): the model's certified radii over the grid, attacked by
  `certificate_check`; where an attack disproves one, certificates that prove
  nothing (every image is then attacked at every radius)."""
  if target.schedule != 'cascade':
    return None, None
  start = time.perf_counter()
  found = schedules.certify(target.apply_fn, target.variables, target.images,
                            target.labels, (radii_255 / 255.0).astype(np.float32),
                            target.batch)
  if found is None or c.sanity.certificate_sample == 0:
    return found, None
  result = certificate_check.check(found, attackers, target.apply_fn, target.variables,
                                   target.images, target.labels,
                                   c.sanity.certificate_sample, seed, target.batch)
  logging.info('  certificates: %d images certified; %d checked, %d fooled (%.1f s)',
               result.certified, result.checked, result.fooled,
               time.perf_counter() - start)
  if result.trusted:
    return found, result
  logging.warning('  an attack fooled %d of %d certified images: this model is evaluated '
                  'without certificates', result.fooled, result.checked)
  return schedules.Certificates(np.zeros_like(found.radius)), result


def _strongest(specs):
  """The L-inf gradient attack of `specs` with the largest budget (the config
  always has an L-inf attack; Square, gradient-free, is used only alone)."""
  linf = [s for s in specs if s.norm == 'linf']
  return max(linf, key=lambda s: (not s.gradient_free, s.steps * s.restarts))


def _paper_attacks(target: _Target, specs, radii_255, grid_size: int, seed: int,
                   certificates) -> list[sanity.AttackRun]:
  """Each configured attack over the grid (and the large sanity radius)."""
  runs = []
  for spec in specs:
    start = time.perf_counter()
    verdict = target.run(spec, radii_255, registry.attack_key(seed, spec), certificates=certificates)
    runs.append(_as_run(spec, verdict, grid_size))
    logging.info('  %s: accuracy %.3f at eps 0 -> %.3f at eps %g/255 (%.1f s)',
                 cell_data.attack_label(rows_lib.fields(spec)), runs[-1].worst[0].mean(),
                 runs[-1].worst[-1].mean(), radii_255[grid_size - 1],
                 time.perf_counter() - start)
  return runs


def _strong_attack(target: _Target, linf_ensemble, eps_255, radii, strong_specs,
                   seed: int, certificates, seconds: dict, fooled_by: dict):
  """bool (S, N) at the strong radii: the worst case of the paper's L-inf attacks
  and the strong ensemble; None when the strong attack is off."""
  if radii.size == 0 or linf_ensemble is None:
    return None
  start = time.perf_counter()
  prior = linf_ensemble.worst[np.searchsorted(eps_255, radii)]  # The radii are grid values.
  verdict = strong.evaluate(strong_specs, target.apply_fn, target.variables, target.images,
                            target.labels, radii / 255.0, prior,
                            seed, target.batch, certificates, seconds, fooled_by)
  logging.info('  strong attack: accuracy %s at eps %s/255 (%.1f s)',
               ', '.join(f'{a:.3f}' for a in verdict.mean(axis=1)),
               ', '.join(f'{r:g}' for r in radii), time.perf_counter() - start)
  return verdict


def strong_radii_255(attack_config, eps_255) -> np.ndarray:
  """The strong attack's radii (x 1/255) that are also in the grid `eps_255`."""
  wanted = [float(r) for r in attack_config.strong.eps_255]
  grid = set(np.asarray(eps_255, float))
  radii = np.array([r for r in wanted if r in grid], np.float64)
  if wanted and radii.size == 0:
    logging.warning('  strong attack off: none of attack.strong.eps_255 %s is in '
                    'attack.eps_255', tuple(wanted))
  return radii


def sanity_stage(target: _Target, c, paper: PaperRecord, strong_record: StrongRecord,
                 check, eps_255, strong_specs, seed: int) -> dict:
  """The gradient-masking checks (`sanity.run_checks`), the strong members' included."""
  runs, ensembles = paper.runs, paper.ensembles
  white_box = [r for r in runs if r.spec.norm == 'linf' and not r.spec.gradient_free]
  run_attack = lambda spec, radii, key, schedule: target.run(spec, radii, key, schedule)
  strong_gap = square_gap = None
  if strong_record.with_strong is not None:  # At the radii the strong attack ran at.
    at, paper_worst, worst = strong_record.with_strong
    ran = np.isin(eps_255[at], strong_record.radii_255)
    strong_gap = paper_worst[ran].mean(axis=1) - worst[ran].mean(axis=1)
    # Square runs last: what it fooled, every white-box attack before it missed.
    square_gap = np.max([v.mean(axis=1) for k, v in strong_record.fooled_by.items()
                         if k.startswith('square')], axis=0, initial=0.0)
  large = ensembles['linf'].large if 'linf' in ensembles else None
  if strong_record.whole_box is not None:
    large = strong_record.whole_box
  checks = sanity.run_checks(
      runs, _ensemble(white_box).worst if white_box else None, large, target.clean,
      target.labels, float(c.sanity.tolerance),
      _more_steps_pair(runs, c, eps_255, run_attack, seed),
      single_radius=target.schedule in schedules.SINGLE_RADIUS_SCHEDULES,
      certificates=check, strong_gap=strong_gap,
      whole_box=float(c.sanity.large_eps_255) >= 255.0,
      strong_more_steps=_strong_more_steps(target, c, ensembles.get('linf'), eps_255,
                                           strong_specs, seed),
      strong_square_gap=square_gap)
  logging.info('  sanity checks %s: %s', 'pass' if sanity.all_ok(checks) else 'FAIL',
               ', '.join(f'{n}={checks[n]["ok"]}' for n in sanity.CHECKS))
  return checks


def _strong_more_steps(target: _Target, c, linf, eps_255, strong_specs, seed: int):
  """(base, doubled) bool (S, N) of the strong ensemble's first gradient member at
  the more-steps radii of the grid, one run of it (its first restart's keys), on
  the images the paper's attacks left correct; None when there is nothing to
  rerun. One run checks the steps at a fifth of five restarts' cost; the audit
  checks the restarts."""
  radii = np.array([r for r in c.sanity.more_steps_eps_255 if float(r) in set(eps_255)])
  gradient = [s for s in strong_specs if not s.gradient_free]
  if linf is None or radii.size == 0 or not gradient or not len(c.strong.eps_255):
    return None
  spec = dataclasses.replace(gradient[0], restarts=1)
  prior = linf.worst[np.searchsorted(eps_255, radii)]
  run = lambda s: schedules.evaluate_cascade(
      s, target.apply_fn, target.variables, target.images, target.labels,
      (radii / 255.0).astype(np.float32), registry.attack_key(seed, spec, f'{strong.NAME}/'),
      target.batch, certify=False, start=prior)
  return run(spec), run(spec.with_steps(2 * spec.steps))


def _with_strong(verdict: np.ndarray, paper: sanity.AttackRun, eps_255, strong_255):
  """(grid indices from the smallest strong radius on, the paper's L-inf ensemble
  there, and the per-image worst case of it and the strong attack), the last two
  bool (E', N). At each grid radius the strong attack counts from the largest
  strong radius below it (`verdict` (S, N)): an image fooled at a radius is
  fooled at every larger one."""
  below = np.searchsorted(strong_255, eps_255, side='right') - 1
  at = np.flatnonzero(below >= 0)
  return at, paper.worst[at], paper.worst[at] & verdict[below[at]]


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
  out = {'ok': first['sanity_ok'], 'tolerance': first['sanity_tolerance'],
         'certified_images': first.get('sanity_certified_images'),
         'certificates_checked': first.get('sanity_certificates_checked')}
  for name in sanity.CHECKS:
    out[name] = {'ok': first.get(f'sanity_{name}'), 'value': first.get(f'sanity_{name}_value')}
  out['fitness'] = {'fit': first.get('fit'), 'reasons': first.get('fitness_reasons'),
                    **{name: first.get(f'fitness_{name}') for name in fitness.CHECKS},
                    **{column: first.get(column) for column in _FITNESS_MEASURES}}
  return out


# What the fitness checks measured, also in sanity.json.
_FITNESS_MEASURES = ('majority_prediction_share', 'balanced_accuracy',
                     'balanced_accuracy_ci_low', 'balanced_accuracy_ci_high', 'chance',
                     'auc', 'val_rise', 'epochs_run', 'steps_run', 'stop_reason')


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
                       registry.attack_key(seed, run.spec), 'loop')
  positions = [np.flatnonzero(np.isclose(eps_255, r)) for r in radii_255]
  if (schedules.resolve(c.schedule) in schedules.SINGLE_RADIUS_SCHEDULES
      and all(p.size for p in positions)):
    base = run.single[[int(p[0]) for p in positions]]
  else:  # Cascade and bisection do not keep the single-radius verdicts.
    base = run_attack(run.spec, radii_255, registry.attack_key(seed, run.spec), 'loop')
  return base, doubled
