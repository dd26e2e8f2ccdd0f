"""The report's claims from per-image data: paired intervals where per_image.json
exists, the matched-set and smallest-radius views, equivalence and power."""

import numpy as np
import pytest

from medadv_jax.reporting import report, verdict

GRID = [0.0, 1.0, 2.0, 4.0, 8.0]
LABEL = 'Strong + paper attacks (per image)'
SIZES = {0.25: 1_000, 0.5: 4_000, 1.0: 16_000}
MARGINS = verdict.Margins(rho=0.3, difference=0.05)


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


def _claim_a(text):
  section = text.split('## Agreement with the paper')[1].split('\n## ')[0]
  start = section.index('- (a)')
  return section[start:section.index('\n- (b)') if '\n- (b)' in section else None]


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
  text = report.render_report(rows, per_image=per_image, margins=MARGINS)
  assert 'Intervals are paired' in text
  difference, paired, _, unpaired, _ = _differences(text)[2.0]
  assert float(difference) == pytest.approx(-16 / 400)
  low, high = _interval(paired)
  assert high < 0  # Paired: the 16 images differ, nothing else does.
  low, high = _interval(unpaired)
  assert low < 0 < high  # Unpaired: lost in the binomial noise of 400 images.
  # The rank correlation is paired too: every resample keeps the order.
  assert '(negative Spearman rho of size vs accuracy): **agrees**' in text


def test_without_per_image_data_the_report_falls_back_and_says_so():
  rows, _ = _study(lambda rank, seed: np.full(400, 2.0))
  text = report.render_report(rows, margins=MARGINS)
  assert 'redraw each model\'s accuracy on its own' in text
  assert '## Largest minus smallest size, paired' not in text


def test_equal_sizes_on_many_images_are_equivalent_not_inconclusive():
  rng = np.random.default_rng(0)
  shared = np.where(rng.random(400) < 0.5, 2.0, np.nan)
  def radii(rank, seed):  # The same verdicts but for 4 images per size.
    out = shared.copy()
    out[rank * 4:rank * 4 + 4] = np.nan if rank % 2 else 1.0
    return out
  rows, per_image = _study(radii, seeds=(0, 1, 2))
  text = report.render_report(rows, per_image=per_image, margins=MARGINS)
  # Rho of 3 sizes is too coarse to settle; the largest-minus-smallest difference
  # lies inside +-0.05 at every radius: no size effect larger than the margin.
  for _, paired, *_ in _differences(text).values():
    low, high = _interval(paired)
    assert -0.05 < low and high < 0.05
  assert '**equivalent** (equivalent at eps 1, 2, 4, 8)' in _claim_a(text).splitlines()[0]
  # Without margins the same data is only inconclusive.
  assert '**inconclusive**' in _claim_a(report.render_report(rows, per_image=per_image))


def test_clean_errors_alone_make_the_headline_agree_and_the_views_say_they_disagree():
  # Robust images are the same for every size; larger sizes are wrong clean on more
  # images, which counts against them in the headline only.
  rng = np.random.default_rng(1)
  robust = np.where(rng.random(400) < 0.6, np.nan, 4.0)
  def radii(rank, seed):
    out = robust.copy()
    out[:40 * (rank + 1)] = 0.0  # Wrong when clean.
    return out
  rows, per_image = _study(radii, seeds=(0, 1, 2))
  text = report.render_report(rows, per_image=per_image, margins=MARGINS)
  claim = _claim_a(text)
  assert claim.startswith('- (a)') and '**agrees**' in claim.splitlines()[0]
  assert 'Matched set' in claim and 'Smallest fooling radius' in claim
  # On the matched set every size is alike: no size effect beyond the margin.
  assert 'clean errors do not count): **equivalent**' in claim
  assert 'The three views differ (headline agrees, matched set equivalent' in claim


def test_an_inconclusive_radius_gets_a_power_line():
  rng = np.random.default_rng(2)
  def radii(rank, seed):  # A weak trend with seed-to-seed spread.
    p = 0.5 - 0.02 * rank + 0.05 * (seed - 1) * (rank - 1)
    return np.where(rng.random(150) < p, np.nan, 1.0)
  rows, per_image = _study(radii, seeds=(0, 1, 2), n=150)
  claim = _claim_a(report.render_report(rows, per_image=per_image, margins=MARGINS))
  assert 'Power: at the observed spread' in claim and 'seeds (to ' in claim
  assert '(3 seeds compared;' in claim
  # A seed with an unfit size leaves the paired interval: the power line counts
  # the seeds it rests on, not those run.
  for r in rows:
    if r['seed'] == 2 and r['width'] == 0.5:
      r.update(fit=False, fitness_reasons='one class takes 100% of its predictions')
  claim = _claim_a(report.render_report(rows, per_image=per_image, margins=MARGINS))
  assert '(2 seeds compared;' in claim


def test_clean_accuracies_are_compared_image_by_image_where_the_verdicts_are_kept():
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
  paired = report.render_report(rows, per_image=per_image, margins=MARGINS)
  section = paired.split('## Are clean accuracies comparable?')[1].split('\n## ')[0]
  assert 'paired (both models\' verdicts on the same resampled images)' in section
  line = next(l for l in section.splitlines() if l.startswith('| standard'))
  # +12/624 = +0.019, exactly: every resample keeps the 12 images' share up to noise.
  assert '| +0.019 [+0.01, +0.03] |' in line and line.endswith('| yes |')
  unpaired = report.render_report(rows, margins=MARGINS)
  line = next(l for l in unpaired.split('## Are clean accuracies comparable?')[1]
              .splitlines() if l.startswith('| standard'))
  assert line.endswith('| **no** |')  # The independent redraw cannot rule out 0.05.


def test_paired_size_comparisons_say_which_seeds_they_rest_on():
  rng = np.random.default_rng(3)
  rows, per_image = _study(lambda rank, seed: np.where(rng.random(400) < 0.5, np.nan, 2.0),
                           seeds=(0, 1, 2))
  for r in rows:  # The middle size of seed 1 predicts one class.
    if r['seed'] == 1 and r['width'] == 0.5:
      r.update(fit=False, fitness_reasons='one class takes 100% of its predictions')
  text = report.render_report(rows, per_image=per_image, margins=MARGINS)
  assert ('The standard-trained sizes are compared over 2 of their 3 seeds: those in which '
          'every size is fit to attack.') in text
  every_fit, every_fit_images = _study(lambda rank, seed: np.full(400, 2.0), seeds=(0, 1))
  assert 'seeds: those in which' not in report.render_report(
      every_fit, per_image=every_fit_images, margins=MARGINS)
