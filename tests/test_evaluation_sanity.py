"""Gradient-masking sanity checks on constructed verdicts with known answers."""

import numpy as np
import pytest

from medadv_jax.attacks.registry import AttackSpec
from medadv_jax.attacks.eps_grid import worst_case_so_far
from medadv_jax.evaluation import certificate_check, sanity

N = 20
LABELS = np.array([0] * 12 + [1] * 8)  # Chance (most common class share): 0.6.


def _run(name, correct_per_eps, target='untargeted', large=None):
  """An AttackRun whose first `k` examples are correct at each eps (k from the list)."""
  single = np.array([np.arange(N) < k for k in correct_per_eps])
  spec = AttackSpec(name, target, steps=1 if name == 'fgsm' else 10)
  large = None if large is None else np.arange(N) < large
  return sanity.AttackRun(spec, single, worst_case_so_far(single), large)


def _checks(runs, clean=None, more_steps=None, large=0, **kwargs):
  white_box = [r for r in runs if not r.spec.gradient_free]
  wb = np.logical_and.reduce([r.worst for r in white_box])
  large_mask = np.arange(N) < large
  clean = np.arange(N) < runs[0].single[0].sum() if clean is None else clean
  return sanity.run_checks(runs, wb, large_mask, clean, LABELS, 0.05, more_steps, **kwargs)


def test_a_sound_evaluation_passes_every_applicable_check():
  runs = [_run('fgsm', [18, 12, 6]), _run('pgd', [18, 10, 2]), _run('square', [18, 14, 9])]
  doubled = (runs[1].single[1:], runs[1].single[1:])
  checks = _checks(runs, more_steps=doubled,
                   certificates=certificate_check.CertificateCheck(8, 0, 12),
                   strong_gap=np.array([0.05, 0.0]), strong_more_steps=doubled,
                   strong_square_gap=np.array([0.0, 0.05]))
  assert all(checks[name]['ok'] is True for name in sanity.CHECKS)
  assert checks['certificates_checked'] == 8 and checks['certified_images'] == 12
  assert sanity.all_ok(checks)
  columns = sanity.as_columns(checks)
  # Largest PGD-minus-FGSM accuracy: 0, at eps = 0 where both are the clean accuracy.
  assert columns['sanity_ok'] is True and columns['sanity_pgd_vs_fgsm_value'] == 0.0


def test_checks_without_their_attacks_are_not_applicable():
  checks = sanity.run_checks([_run('apgd_ce', [18, 9])], None, None, np.arange(N) < 18,
                             LABELS, 0.05)
  for name in ('large_eps', 'pgd_vs_fgsm', 'more_steps', 'square_vs_white_box',
               'certificates', 'strong_attack'):
    assert checks[name]['ok'] is None
  assert sanity.all_ok(checks)


@pytest.mark.parametrize('name, runs, kwargs, value', [
    # PGD leaves 4 more images correct than FGSM at eps index 1: 0.2 > 0.05.
    ('pgd_vs_fgsm', [_run('fgsm', [18, 8]), _run('pgd', [18, 12])], {}, 0.2),
    # Run alone at each eps, accuracy rises from 0.4 to 0.6.
    ('non_increasing', [_run('pgd', [18, 8, 12])], {}, 0.2),
    # Square finds 6 images more than every white-box attack together.
    ('square_vs_white_box', [_run('pgd', [18, 14]), _run('square', [18, 8])], {}, 0.3),
    # The large radius leaves 0.7 > chance 0.6.
    ('large_eps', [_run('pgd', [18, 8])], {'large': 14}, 0.7),
    # Doubling the steps fools 3 more images.
    ('more_steps', [_run('pgd', [18, 8])],
     {'more_steps': (np.array([np.arange(N) < 8]), np.array([np.arange(N) < 5]))}, 0.15),
    # The attack changed 2 clean-correct images at eps = 0.
    ('eps0_clean', [_run('pgd', [16, 8])], {'clean': np.arange(N) < 18}, 2),
])
def test_each_failure_is_flagged_with_its_measured_value(name, runs, kwargs, value):
  checks = _checks(runs, **kwargs)
  assert checks[name]['ok'] is False
  assert checks[name]['value'] == pytest.approx(value)
  assert not sanity.all_ok(checks)
  assert sanity.as_columns(checks)[f'sanity_{name}'] is False


def test_the_strong_members_checks_fail_beyond_the_tolerance():
  runs = [_run('fgsm', [18, 12, 6]), _run('pgd', [18, 10, 2])]
  base = runs[1].single[1:]
  doubled = base.copy()
  doubled[1, :2] = False  # Twice the steps fools 2 of 20 more: 0.1 > 0.05.
  checks = _checks(runs, strong_more_steps=(base, doubled),
                   strong_square_gap=np.array([0.0, 0.1]))
  assert checks['strong_more_steps'] == {'ok': False, 'value': 0.1, 'limit': 0.05}
  assert checks['strong_square_vs_white_box']['ok'] is False
  assert not sanity.all_ok(checks)
  assert _checks(runs)['strong_more_steps']['ok'] is None  # Not run: not applicable.
