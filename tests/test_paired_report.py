"""The report's descriptive tables from per-image data: paired intervals where
per_image.json exists, unpaired ones beside them, clean accuracies image by image."""

import numpy as np
import pytest

from medadv_jax.reporting import report

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
  low, high = cell.strip('[]').split(',')
  return float(low), float(high)


def test_a_small_paired_difference_is_found_where_the_unpaired_interval_misses_it():
  # Every size is fooled at 2/255 on the same 300 images; the largest also on 16 more.
  base = np.where(np.arange(400) < 300, 2.0, np.nan)
  def radii(rank, seed):
    out = base.copy()
    if rank == 2:
      out[300:316] = 2.0
    return out
  rows, per_image = _study(radii)
  text = report.render_report(rows, per_image=per_image)
  difference, paired, _, unpaired, _ = _differences(text)[2.0]
  assert float(difference) == pytest.approx(-16 / 400)
  low, high = _interval(paired)
  assert high < 0  # Paired: the 16 images differ, nothing else does.
  low, high = _interval(unpaired)
  assert low < 0 < high  # Unpaired: lost in the binomial noise of 400 images.
  # The rank correlation is paired too: every resample keeps the order.
  rho = _section(text, 'Does robustness fall with model size?')
  assert '| -0.87 [-0.87, -0.87] |' in rho.split('| standard | ')[1]  # Ties of sizes 0, 1.


def test_without_per_image_data_the_report_falls_back_and_says_so():
  rows, _ = _study(lambda rank, seed: np.full(400, 2.0))
  text = report.render_report(rows)
  assert '## Largest minus smallest size, paired' not in text


def test_clean_accuracies_are_compared_image_by_image_where_per_image_data_exists():
  # On 624 test images the largest size is right on 12 more than the others.
  def radii(rank, seed):
    return np.full(400, 2.0)
  rows, per_image = _study(radii)
  for key, found in per_image.items():
    extra = 12 if key[0][2] == 1.0 else 0
    found['test_clean_correct'] = [i < 500 + extra for i in range(624)]
  for r in rows:
    r['clean_test_n'] = 624
    r['clean_test_accuracy'] = (512 if r['width'] == 1.0 else 500) / 624
  paired = report.render_report(rows, per_image=per_image)
  section = paired.split('## Are clean accuracies comparable?')[1].split('\n## ')[0]
  assert 'paired (both models\' verdicts on the same resampled images)' in section
  line = next(l for l in section.splitlines() if l.startswith('| standard'))
  # +12/624 = +0.019, exactly: every resample keeps the 12 images' share up to noise.
  assert '| +0.019 [+0.01, +0.03] |' in line and line.endswith('| yes |')
  unpaired = report.render_report(rows)
  line = next(l for l in unpaired.split('## Are clean accuracies comparable?')[1]
              .splitlines() if l.startswith('| standard'))
  assert line.endswith('| **no** |')  # The independent redraw cannot rule out 0.05.


