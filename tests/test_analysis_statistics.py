"""The planned analysis' statistics against float64 references and exact cases."""

import numpy as np
import pytest
from scipy import stats

from medadv_jax.reporting.statistics import multiplicity, power, size_slope


def test_seed_slopes_match_polyfit_and_skip_unfit_sizes():
  rng = np.random.default_rng(0)
  x = np.array([10.0, 11.5, 13.0, 16.0, 17.0])
  y = rng.uniform(0, 1, (4, 5))
  fit = np.ones((4, 5), bool)
  fit[1, 2] = False
  fit[3, :3] = False  # Two sizes left: no slope.
  slopes = size_slope.seed_slopes(x, y, fit)
  for s in range(3):
    keep = fit[s]
    assert slopes[s] == pytest.approx(np.polyfit(x[keep], y[s, keep], 1)[0], abs=1e-12)
  assert np.isnan(slopes[3])


def test_t_interval_is_scipys_and_tost_is_the_90_percent_interval_inside_the_margin():
  values = np.array([0.004, -0.002, 0.006, 0.001, 0.003])
  mean, low, high = size_slope.t_interval(values)
  ref = stats.t.interval(0.95, 4, loc=values.mean(), scale=stats.sem(values))
  assert (low, high) == pytest.approx(ref, abs=1e-12)
  _, low90, high90 = size_slope.t_interval(values, 0.90)
  for margin in (0.004, 0.006, 0.0075, 0.01):
    inside = -margin < low90 and high90 < margin
    assert bool(size_slope.tost(values, margin)[0]) == inside


def test_holm_matches_the_hand_computed_step_down():
  p = np.array([0.01, 0.04, 0.03, np.nan, 0.005])
  # Sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1, kept monotone.
  expected = np.array([0.03, 0.06, 0.06, np.nan, 0.02])
  np.testing.assert_allclose(multiplicity.holm(p), expected, equal_nan=True)


def test_page_trend_finds_a_fall_with_size_in_every_seed():
  x = np.array([10.0, 12.0, 14.0, 16.0])
  falling = np.array([[0.5, 0.4, 0.3, 0.2]] * 5) + np.arange(5)[:, None] * 0.01
  _, p_fall = size_slope.page_trend(falling, x)
  _, p_rise = size_slope.page_trend(falling[:, ::-1], x)
  assert p_fall < 0.001 < 0.5 < p_rise


def test_seeds_needed_grows_as_the_effect_shrinks_and_fits_variances():
  rng = np.random.default_rng(0)
  seeds = [0.02 + rng.normal(0, 0.01) + rng.normal(0, 0.05, 200) for _ in range(6)]
  fitted = power.fit_variances(seeds)
  assert fitted.image == pytest.approx(0.05 ** 2 / 200, rel=0.3)
  big = power.seeds_needed(0.02, fitted, 0.01, 'exclude_zero')
  small = power.seeds_needed(0.005, fitted, 0.01, 'exclude_zero')
  assert big is not None and (small is None or small > big)
  assert power.seeds_needed(0.0, fitted, 0.05, 'inside_margin') <= power.seeds_needed(
      0.0, fitted, 0.02, 'inside_margin')
