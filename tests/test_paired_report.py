"""The report's descriptive differences: paired by seed (a t-interval over seeds),
with one seed by image from per_image.json (Newcombe's paired interval), none
without it; clean accuracies the same way."""

import numpy as np
import pytest
from scipy import stats

from medadv_jax.reporting import report
from medadv_jax.reporting.statistics import image_verdicts, paired_difference
import analysis_fixtures

GRID = [0.0, 1.0, 2.0, 4.0, 8.0]
LABEL = 'Strong + paper attacks (per image)'
SIZES = {0.25: 1_000, 0.5: 4_000, 1.0: 16_000}


def _study(min_eps_of, clean_of=None, seeds=(0,), n=400):
  """(rows, per_image) of standard-trained sizes whose per-image fooling radii are
  `min_eps_of(rank, seed)` ((n,) floats, NaN = never fooled; 0 = wrong clean)."""
  rows, per_image = [], {}
  for seed in seeds:
    for rank, (width, params) in enumerate(SIZES.items()):
      radii = np.asarray(min_eps_of(rank, seed), float)
      clean = radii != 0 if clean_of is None else clean_of(rank, seed)
      key = (('cnn', 0, width), 'standard', seed)
      per_image[key] = {'eps_255': GRID, 'test_indices': list(range(n)),
                        'clean_correct': [bool(c) for c in clean],
                        'min_eps_255': {LABEL: [None if np.isnan(r) else float(r)
                                                for r in radii]}}
      for e in GRID:
        acc = float(np.mean(np.isnan(radii) | (radii > e)))
        rows.append(dict(
            dataset='toy', model='cnn', width=width, depth=None, params=params,
            flops=10.0 * params, train_mode='standard', seed=seed, attack='ensemble',
            target='any', steps=0, norm='linf', eps=e / 255, eps_255=e, accuracy=acc,
            n=n, ci_low=acc - 0.03, ci_high=acc + 0.03, accuracy_single_eps=acc,
            clean_test_accuracy=float(np.mean(clean)), clean_test_n=n, fit=True,
            fitness_reasons=''))
  return rows, per_image


def _section(text, title):
  return text.split(f'## {title}')[1].split('\n## ')[0]


def _differences(text):
  section = text.split('## Largest minus smallest size, paired')[1].split('\n## ')[0]
  return {float(l.split('|')[1]): [c.strip() for c in l.split('|')[2:-1]]
          for l in section.splitlines() if l.startswith('| ') and l[2].isdigit()}


def _interval(cell):
  low, high = cell.split(' (')[0].strip('[]').split(',')
  return float(low), float(high)


def _sixteen_more(rank, seed):
  """Every size is fooled at 2/255 on the same 300 images; the largest also on 16 more."""
  out = np.where(np.arange(400) < 300, 2.0, np.nan)
  if rank == 2:
    out[300:316] = 2.0
  return out


def test_one_seed_finds_a_small_paired_difference_over_its_images():
  rows, per_image = _study(_sixteen_more)
  text = report.render_report(rows, per_image=per_image)
  difference, interval, _, seeds = _differences(text)[2.0]
  assert float(difference) == pytest.approx(-16 / 400) and seeds == '1'
  assert interval.endswith('(1 seed: images only)')
  low, high = _interval(interval)
  # Paired: the 16 images differ, nothing else does. Two independent Wilson
  # intervals of 0.25 and 0.21 on 400 images would overlap and miss it.
  assert low < -16 / 400 < high < 0
  rho = _section(text, 'Does robustness fall with model size?')
  assert rho.split('| standard | ')[1].startswith('n/a (constant) | -0.87 |')  # Ties.


def test_several_seeds_take_a_t_interval_over_the_seeds_paired_differences():
  # Seed s: the largest size is fooled on 8 (s + 1) more images than the smallest.
  def radii(rank, seed):
    out = np.where(np.arange(400) < 300, 2.0, np.nan)
    if rank == 2:
      out[300:300 + 8 * (seed + 1)] = 2.0
    return out
  rows, _ = _study(radii, seeds=(0, 1, 2))
  text = report.render_report(rows)  # No per-image data needed: seeds pair by rows.
  difference, interval, _, seeds = _differences(text)[2.0]
  per_seed = -8 * np.arange(1, 4) / 400
  assert float(difference) == pytest.approx(per_seed.mean()) and seeds == '3'
  half = stats.t.ppf(0.975, 2) * per_seed.std(ddof=1) / np.sqrt(3)
  assert _interval(interval) == pytest.approx((per_seed.mean() - half, per_seed.mean() + half),
                                              abs=5e-4)


def test_one_seed_without_per_image_data_has_no_interval():
  rows, _ = _study(_sixteen_more)
  text = report.render_report(rows)
  _, interval, half, _ = _differences(text)[2.0]
  assert interval == 'n/a (1 seed, no per-image data)' and half == 'n/a'


def test_clean_accuracies_are_compared_image_by_image_with_one_seed():
  # On 624 test images the largest size is right on 12 more than the others.
  rows, per_image = _study(lambda rank, seed: np.full(400, 2.0))
  for key, found in per_image.items():
    extra = 12 if key[0][2] == 1.0 else 0
    found['test_clean_correct'] = [i < 500 + extra for i in range(624)]
  for r in rows:
    r['clean_test_n'] = 624
    r['clean_test_accuracy'] = (512 if r['width'] == 1.0 else 500) / 624
  paired = report.render_report(rows, per_image=per_image)
  section = paired.split('## Are clean accuracies comparable?')[1].split('\n## ')[0]
  assert "Newcombe's paired interval" in section
  line = next(l for l in section.splitlines() if l.startswith('| standard'))
  # +12/624 = +0.019; the 12 discordant images bound it well inside +-0.05.
  assert '| +0.019 [+0.01, +0.03] (1 seed: images only) |' in line
  assert line.endswith('| yes |')
  unpaired = report.render_report(rows)
  line = next(l for l in unpaired.split('## Are clean accuracies comparable?')[1]
              .splitlines() if l.startswith('| standard'))
  assert 'n/a (1 seed, no per-image data)' in line and line.endswith('| **no** |')


def test_one_seeds_training_gain_is_paired_over_its_images():
  rows, per_image = analysis_fixtures.study(
      lambda mode, rank, seed: 0.6 if mode == 'pgd' else 0.3, seeds=(0,))
  text = report.render_report(rows, per_image=per_image)
  line = next(l for l in _section(text, 'What adversarial training buys').splitlines()
              if l.startswith('| cnn w=1 '))
  size = next(k[0] for k in per_image if k[0][2] == 1.0)
  verdicts = [image_verdicts.correct_at(
      [np.nan if r is None else r
       for r in per_image[(size, mode, 0)]['min_eps_255'][analysis_fixtures.LABEL]], 8.0)
      for mode in ('pgd', 'standard')]
  d, low, high = paired_difference.newcombe_paired(*verdicts)
  assert line.endswith(f'| {d:+.3f} [{low:+.2f}, {high:+.2f}] | 1: images only |')
