"""The descriptive paired differences: a t-interval over seeds, Newcombe's paired
interval over one seed's images, each against a published value or a simulation
with a known answer (`statistics.simulation`, numpy only).

Coverage rates are over STUDIES simulated studies; their Monte Carlo standard
error is sqrt(0.95 * 0.05 / STUDIES) = 0.0049, so the band 93-97 % sits about 4
standard errors from 95 %: a correct interval fails it with a chance under 1e-3.
"""

import math

import numpy as np
import pytest
from scipy import stats

from medadv_jax.reporting.statistics import image_verdicts, paired_difference, simulation

STUDIES = 2000
LOG2_PARAMS = np.array([12.0, 20.0])  # Smallest and largest size: 8 doublings apart.
SLOPE = -0.02  # Robust accuracy per doubling: the largest minus the smallest is -0.16.


def _paired(both, only_a, only_b, neither):
  """(a, b) bool verdicts with the given counts of the paired 2 x 2 table."""
  a = np.repeat([True, True, False, False], [both, only_a, only_b, neither])
  b = np.repeat([True, False, True, False], [both, only_a, only_b, neither])
  return a, b


def test_newcombe_paired_matches_the_published_value():
  # Cavo et al. (2012) as in Fagerland, Lydersen and Laake (2017), ch. 8: the
  # square-and-add interval -0.0621 (-0.1186 to -0.0046).
  d, low, high = paired_difference.newcombe_paired(*_paired(59, 6, 16, 80))
  assert (d, low, high) == pytest.approx((-10 / 161, -0.1186, -0.0046), abs=6e-5)


def test_newcombe_paired_is_antisymmetric_and_has_width_without_discordant_pairs():
  a, b = _paired(30, 9, 2, 40)
  forward, backward = (paired_difference.newcombe_paired(*p) for p in ((a, b), (b, a)))
  assert forward == pytest.approx((-backward[0], -backward[2], -backward[1]))
  # 40 images, both models right on the same 20: the difference is 0, and 40
  # images cannot rule out a few percent either way.
  d, low, high = paired_difference.newcombe_paired(*_paired(20, 0, 0, 20))
  assert d == 0 and low < -0.01 and high > 0.01


def test_over_seeds_is_a_t_interval_of_the_seeds_paired_differences():
  a = {0: 0.50, 1: 0.56, 2: 0.47, 3: 0.9}  # Seed 3 has no B: left out.
  b = {0: 0.40, 1: 0.41, 2: 0.40, 4: 0.1}
  d = paired_difference.over_seeds(a, b)
  per_seed = np.array([0.10, 0.15, 0.07])
  half = stats.t.ppf(0.975, 2) * per_seed.std(ddof=1) / math.sqrt(3)
  assert tuple(d) == pytest.approx((per_seed.mean(), per_seed.mean() - half,
                                    per_seed.mean() + half, 3))
  assert not d.images_only
  assert paired_difference.interval_text(d) == f'[{d.low:+.2f}, {d.high:+.2f}]'


def test_one_seed_takes_newcombe_over_its_images_and_says_so():
  a, b = _paired(30, 9, 2, 40)
  d = paired_difference.over_seeds({7: 39 / 81}, {7: 32 / 81}, lambda seed: (a, b))
  assert d.images_only and tuple(d)[:3] == paired_difference.newcombe_paired(a, b)
  assert paired_difference.interval_text(d).endswith(' (1 seed: images only)')
  bare = paired_difference.over_seeds({7: 0.5}, {7: 0.4})
  assert bare.estimate == pytest.approx(0.1) and math.isnan(bare.low)
  assert paired_difference.interval_text(bare) == 'n/a (1 seed, no per-image data)'


def test_correct_at_counts_an_image_robust_until_it_is_first_fooled():
  min_eps = [0.0, 2.0, np.nan, 4.0]  # Wrong clean, fooled at 2, never, fooled at 4.
  assert image_verdicts.correct_at(min_eps, 0).tolist() == [False, True, True, True]
  assert image_verdicts.correct_at(min_eps, 2).tolist() == [False, False, True, True]


def _largest_minus_smallest(rng, seeds, images, image_corr=0.6):
  """(probabilities (STUDIES, seeds, 2), verdicts (STUDIES, seeds, 2, images)) of the
  smallest and largest size, paired over each seed's images."""
  p = simulation.size_probabilities(rng, STUDIES, seeds, LOG2_PARAMS, 0.5, SLOPE,
                                    seed_sd=0.05, slope_sd=0.004, size_sd=0.02)
  assert ((p > 0) & (p < 1)).all()  # No clipping: the true difference is exact.
  return p, simulation.outcomes(rng, p, images, image_corr)


@pytest.mark.parametrize('seeds,images', [(3, 40), (5, 100), (10, 60)])
def test_the_interval_over_seeds_covers_the_true_difference_95_percent(seeds, images):
  rng = np.random.default_rng(seeds * 100 + images)
  _, verdicts = _largest_minus_smallest(rng, seeds, images)
  accuracy = verdicts.mean(-1)
  truth = SLOPE * (LOG2_PARAMS[1] - LOG2_PARAMS[0])
  covered = [d.low <= truth <= d.high for d in (
      paired_difference.over_seeds(dict(enumerate(study[:, 1])), dict(enumerate(study[:, 0])))
      for study in accuracy)]
  assert 0.93 <= np.mean(covered) <= 0.97, np.mean(covered)


@pytest.mark.parametrize('images,image_corr', [(40, 0.6), (100, 0.6), (40, 0.9)])
def test_one_seeds_interval_covers_its_models_true_difference_95_percent(images, image_corr):
  # With one seed the truth is that seed's two models' difference over images.
  rng = np.random.default_rng(images + int(10 * image_corr))
  p, verdicts = _largest_minus_smallest(rng, 1, images, image_corr)
  covered = []
  for truth, (smallest, largest) in zip(p[:, 0, 1] - p[:, 0, 0], verdicts[:, 0]):
    d = paired_difference.over_seeds({0: largest.mean()}, {0: smallest.mean()},
                                     lambda seed: (largest, smallest))
    covered.append(d.low <= truth <= d.high)
  assert 0.93 <= np.mean(covered) <= 0.97, np.mean(covered)
