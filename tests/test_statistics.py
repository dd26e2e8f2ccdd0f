"""Report statistics on constructed inputs with known answers."""

import numpy as np
import pytest

from medadv_jax.reporting.statistics import bootstrap

SIZES = [1e3, 4e3, 1.6e4, 6.4e4]


def test_spearman_of_perfect_orderings():
  assert bootstrap.spearman(SIZES, [0.9, 0.8, 0.7, 0.6]) == pytest.approx(-1.0)
  assert bootstrap.spearman(SIZES, [0.1, 0.2, 0.3, 0.4]) == pytest.approx(1.0)
  assert np.isnan(bootstrap.spearman(SIZES, [0.5] * 4))


def test_well_separated_ordering_gives_a_tight_interval_at_minus_one():
  # Gaps of 0.2 on 10,000 images are far beyond resampling noise.
  accuracies = [[0.9, 0.9], [0.7, 0.7], [0.5, 0.5], [0.3, 0.3]]
  rho, low, high = bootstrap.bootstrap_spearman(SIZES, accuracies, n=10_000)
  assert (rho, low, high) == (pytest.approx(-1.0), pytest.approx(-1.0), pytest.approx(-1.0))


def test_noise_sized_differences_give_an_interval_that_spans_zero():
  # Gaps of 0.01 on 50 images are well within binomial noise.
  accuracies = [[0.52], [0.51], [0.50], [0.49]]
  rho, low, high = bootstrap.bootstrap_spearman(SIZES, accuracies, n=50)
  assert rho == pytest.approx(-1.0)
  assert low < 0 < high


def test_seed_spread_widens_the_interval():
  steady = bootstrap.bootstrap_spearman(SIZES, [[0.8] * 4, [0.7] * 4, [0.6] * 4, [0.5] * 4],
                                         n=200)
  spread = bootstrap.bootstrap_spearman(
      SIZES, [[0.95, 0.65, 0.9, 0.7], [0.5, 0.9, 0.6, 0.8], [0.8, 0.4, 0.75, 0.45],
              [0.3, 0.7, 0.6, 0.4]], n=200)
  assert steady[2] - steady[1] < spread[2] - spread[1]


def test_difference_interval_covers_the_truth_and_excludes_zero_when_large():
  diff, low, high = bootstrap.bootstrap_difference([0.6, 0.62, 0.58], [0.3, 0.32, 0.28],
                                                    n=500)
  assert diff == pytest.approx(0.3)
  assert 0 < low < 0.3 < high
  diff, low, high = bootstrap.bootstrap_difference([0.50], [0.49], n=100)
  assert low < 0 < high


def test_same_seed_gives_the_same_interval():
  args = (SIZES, [[0.6], [0.55], [0.5], [0.45]], 100)
  assert bootstrap.bootstrap_spearman(*args, seed=3) == bootstrap.bootstrap_spearman(*args,
                                                                                       seed=3)


def test_vectorised_rank_correlation_matches_scipy_with_ties():
  rng = np.random.default_rng(0)
  ys = rng.integers(0, 4, size=(50, 5)).astype(float)  # Many ties and constant rows.
  x = np.array([3.0, 1.0, 4.0, 1.0, 5.0])
  fast = bootstrap._row_spearman(x, ys)  # pylint: disable=protected-access
  slow = np.array([bootstrap.spearman(x, y) for y in ys])
  np.testing.assert_allclose(fast, slow, atol=1e-12)


def test_mostly_tied_resamples_give_no_interval_rather_than_a_false_one():
  # One image in 200 separates the models; most resamples tie them all at 0.
  rho, low, high = bootstrap.bootstrap_spearman(SIZES, [[0.0], [0.005], [0.0], [0.0]],
                                                 n=200)
  assert rho == pytest.approx(-0.258, abs=1e-3)
  assert np.isnan(low) and np.isnan(high)


def test_mean_interval_over_seeds_and_images():
  # Two seeds at 0.6 and 0.8 on 200 images: the seed spread dominates, so the
  # interval is far wider than either seed's own binomial noise (about +-0.07)
  # and its ends sit near the two seeds' values.
  mean, low, high = bootstrap.bootstrap_mean([0.6, 0.8], 200)
  assert mean == pytest.approx(0.7)
  assert 0.52 < low < 0.62 and 0.78 < high < 0.88
  # One seed: only the images are resampled, about the Wilson width.
  _, low, high = bootstrap.bootstrap_mean([0.7], 200)
  assert high - low == pytest.approx(2 * 1.96 * (0.7 * 0.3 / 200) ** 0.5, rel=0.15)
