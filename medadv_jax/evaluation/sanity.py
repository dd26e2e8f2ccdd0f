"""Gradient-masking sanity checks for one evaluated model (Carlini et al. 2019's list).

A weak or masked attack makes a model look robust, so every evaluated model
gets these checks, each {'ok': True / False / None (not applicable), 'value':
the measured number, 'limit': what it is compared with}:
  eps0_clean          accuracy at eps = 0 equals clean accuracy, example by example
                      (value: number of mismatched (attack, example) pairs);
  non_increasing      an attack run at each eps alone never gains accuracy by more than
                      the tolerance from one radius to the next (value: largest rise);
                      these two need verdicts at each radius alone: not applicable
                      under the 'cascade' and 'min_eps' schedules, which never attack
                      at eps = 0 and keep only verdicts cumulated over radii, so both
                      would hold by construction;
  large_eps           the ensemble at the check's large radius leaves accuracy near 0:
                      at most the tolerance when that radius spans the whole pixel box
                      (the adversary may return any image, one the model puts in
                      another class included, so a model that separates the classes at
                      all can be fooled on every image; a constant model cannot), else
                      at most the share of the most common class (value: that accuracy);
  pgd_vs_fgsm         PGD never beats FGSM (same target) by more than the tolerance
                      (value: largest PGD-minus-FGSM accuracy);
  more_steps          doubling the steps of the reference gradient attack changes its
                      accuracy by at most the tolerance (value: largest |change|);
  square_vs_white_box gradient-free Square is not more than the tolerance stronger than
                      the white-box ensemble (value: largest white-box-minus-Square accuracy);
  certificates        no certified image attacked inside its certified ball was fooled
                      (`certificate_check`; value: images fooled; n/a where the schedule
                      uses no certificates or none were checked);
  strong_attack       the strong verdict attack lowers accuracy below the paper's L-inf
                      attacks by at most the tolerance at every strong radius (value: the
                      largest drop; the paper attacks' accuracies are upper bounds then);
  strong_more_steps   one run (the first restart) of the strong ensemble's first gradient
                      member (APGD-CE), rerun with twice the steps on the same keys,
                      changes its accuracy by at most the tolerance at the more-steps
                      radii (value: largest |change|);
  strong_square_vs_white_box  the strong ensemble's Square fools at most the tolerance of
                      the images every white-box attack before it missed (value: largest
                      share over the strong radii).
The large_eps check, at the whole pixel box, counts the strong ensemble too
(a model failing it masks gradients: `fitness.with_masking`).
"""

import dataclasses
from typing import Optional

import numpy as np

CHECKS = ('eps0_clean', 'non_increasing', 'large_eps', 'pgd_vs_fgsm', 'more_steps',
          'square_vs_white_box', 'certificates', 'strong_attack', 'strong_more_steps',
          'strong_square_vs_white_box')


@dataclasses.dataclass
class AttackRun:
  """One attack's verdicts over the grid. Arrays are bool, N attacked examples."""
  spec: object  # registry.AttackSpec.
  single: np.ndarray  # (E, N) at each radius alone (already cumulated by 'cascade').
  worst: np.ndarray  # (E, N) worst case over radii up to each eps.
  large: Optional[np.ndarray] = None  # (N,) worst case at the sanity check's large radius.


def run_checks(runs, white_box_worst: np.ndarray, ensemble_large: Optional[np.ndarray],
               clean: np.ndarray, labels: np.ndarray, tolerance: float,
               more_steps: Optional[tuple] = None, single_radius: bool = True,
               certificates=None, strong_gap: Optional[np.ndarray] = None,
               whole_box: bool = True, strong_more_steps: Optional[tuple] = None,
               strong_square_gap: Optional[np.ndarray] = None) -> dict:
  """Every check of `CHECKS`, as {name: {'ok', 'value', 'limit'}} plus 'tolerance'.

  Args:
    runs: list of AttackRun (L-inf and L2 alike).
    white_box_worst: (E, N) per-example worst case over the L-inf gradient attacks.
    ensemble_large: (N,) worst case over every L-inf attack at the large radius,
      or None if not run.
    clean: bool (N,) clean correctness of the attacked images.
    labels: (N,) int labels ((N, L) multi-label: no chance level, check skipped).
    tolerance: accuracy difference (fraction of images) still counted as equal.
    more_steps: (base, doubled), bool (S, N) each: the reference attack and its
      doubled-steps twin at the same radii with the same keys; None if not run.
    single_radius: whether `run.single` holds each radius's own verdicts (False:
      cumulated, so eps0_clean and non_increasing are not applicable).
    certificates: `certificate_check.CertificateCheck`, or None if not run.
    strong_gap: (S,) paper L-inf ensemble minus strong attack accuracy at the strong
      radii, or None if the strong attack was not run.
    whole_box: whether the large radius spans the whole pixel box (>= 255/255).
    strong_more_steps: as `more_steps`, for the strong ensemble's APGD-CE.
    strong_square_gap: (S,) share of images only the strong Square fooled.
  """
  linf = [r for r in runs if r.spec.norm == 'linf']
  not_applicable = _result(None, None, None)
  out = {
      'eps0_clean': _eps0_clean(runs, clean) if single_radius else not_applicable,
      'non_increasing': (_non_increasing(runs, tolerance) if single_radius
                         else not_applicable),
      'large_eps': _large_eps(ensemble_large, labels, tolerance if whole_box else None),
      'pgd_vs_fgsm': _stronger_by(linf, 'pgd', 'fgsm', tolerance),
      'more_steps': _more_steps(more_steps, tolerance),
      'square_vs_white_box': _square_vs_white_box(linf, white_box_worst, tolerance),
      'certificates': _certificates(certificates),
      'strong_attack': (not_applicable if strong_gap is None or strong_gap.size == 0 else
                        _result(strong_gap.max() <= tolerance + 1e-9, strong_gap.max(),
                                tolerance)),
      'strong_more_steps': _more_steps(strong_more_steps, tolerance),
      'strong_square_vs_white_box': (
          not_applicable if strong_square_gap is None or np.size(strong_square_gap) == 0
          else _result(np.max(strong_square_gap) <= tolerance + 1e-12,
                       np.max(strong_square_gap), tolerance)),
  }
  out['tolerance'] = tolerance
  out['certificates_checked'] = None if certificates is None else certificates.checked
  out['certified_images'] = None if certificates is None else certificates.certified
  return out


def all_ok(checks: dict) -> bool:
  """True when no applicable check failed."""
  return all(checks[name]['ok'] is not False for name in CHECKS)


def as_columns(checks: dict) -> dict:
  """Flat row columns: sanity_<check> (True / False / None) and sanity_<check>_value."""
  columns = {'sanity_ok': all_ok(checks), 'sanity_tolerance': checks['tolerance'],
             'sanity_certificates_checked': checks.get('certificates_checked'),
             'sanity_certified_images': checks.get('certified_images')}
  for name in CHECKS:
    columns[f'sanity_{name}'] = checks[name]['ok']
    columns[f'sanity_{name}_value'] = checks[name]['value']
  return columns


def _certificates(check) -> dict:
  if check is None or check.checked == 0:
    return _result(None, None, None)
  return _result(check.fooled == 0, check.fooled, 0)


def _result(ok, value, limit) -> dict:
  return {'ok': None if ok is None else bool(ok),
          'value': None if value is None else float(value),
          'limit': None if limit is None else float(limit)}


def _eps0_clean(runs, clean) -> dict:
  mismatches = sum(int(np.sum(r.single[0] != clean)) for r in runs)
  return _result(mismatches == 0, mismatches, 0)


def _non_increasing(runs, tolerance) -> dict:
  rises = [np.max(np.diff(r.single.mean(axis=1)), initial=0.0) for r in runs]
  largest = max(rises, default=0.0)
  return _result(largest <= tolerance + 1e-12, largest, tolerance)


def _large_eps(large, labels, whole_box_tolerance) -> dict:
  """Whole box: accuracy at most `whole_box_tolerance`; a smaller radius (None):
  at most the most common class share (single-label only)."""
  if large is None or labels.size == 0:
    return _result(None, None, None)
  accuracy = float(large.mean())
  if whole_box_tolerance is not None:
    return _result(accuracy <= whole_box_tolerance + 1e-12, accuracy, whole_box_tolerance)
  if labels.ndim != 1:
    return _result(None, None, None)
  chance = np.max(np.unique(labels, return_counts=True)[1]) / labels.size
  return _result(accuracy <= chance + 1e-12, accuracy, chance)


def _stronger_by(runs, strong: str, weak: str, tolerance) -> dict:
  excess = []
  for s in (r for r in runs if r.spec.name == strong):
    for w in (r for r in runs if r.spec.name == weak and r.spec.target == s.spec.target):
      excess.append(np.max(s.worst.mean(axis=1) - w.worst.mean(axis=1)))
  if not excess:
    return _result(None, None, None)
  return _result(max(excess) <= tolerance + 1e-12, max(excess), tolerance)


def _more_steps(pair, tolerance) -> dict:
  if pair is None:
    return _result(None, None, None)
  base, doubled = pair
  change = float(np.max(np.abs(base.mean(axis=1) - doubled.mean(axis=1)), initial=0.0))
  return _result(change <= tolerance + 1e-12, change, tolerance)


def _square_vs_white_box(runs, white_box_worst, tolerance) -> dict:
  squares = [r for r in runs if r.spec.gradient_free]
  if not squares or white_box_worst is None:
    return _result(None, None, None)
  white_box = white_box_worst.mean(axis=1)
  gap = max(np.max(white_box - r.worst.mean(axis=1)) for r in squares)
  return _result(gap <= tolerance + 1e-12, gap, tolerance)
