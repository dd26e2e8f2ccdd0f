"""Wilson intervals against published values."""

import pytest

from medadv_jax.intervals import wilson_interval


def test_wilson_matches_reference_values():
  # Reference: Newcombe (1998), Table I, 81/263 -> 0.2553 to 0.3662.
  low, high = wilson_interval(81, 263)
  assert low == pytest.approx(0.2553, abs=1e-4)
  assert high == pytest.approx(0.3662, abs=1e-4)


def test_wilson_stays_inside_unit_interval_at_the_extremes():
  low, high = wilson_interval(0, 10)
  assert low == 0.0 and 0.0 < high < 0.35
  low, high = wilson_interval(10, 10)
  assert high == 1.0 and 0.65 < low < 1.0


def test_wilson_with_no_data_is_uninformative():
  assert wilson_interval(0, 0) == (0.0, 1.0)
