"""Claim (b)'s primary endpoint: per size, each seed's paired gain (adversarially
trained minus standard-trained robust accuracy on the same images), a t-interval
over seeds, a one-sample t-test Holm-adjusted across sizes, and TOST."""

import numpy as np
from scipy import stats

from medadv_jax.reporting.statistics import multiplicity, size_slope


def t_test_p(gains) -> np.ndarray:
  """(...,) two-sided p of the one-sample t-test that the mean over the last axis
  (seeds, NaN left out) is 0; NaN below 2 seeds, 0 or 1 for zero spread."""
  g = np.asarray(gains, float)
  n = np.isfinite(g).sum(-1)
  mean, _, _ = size_slope.t_interval(g)
  with np.errstate(invalid='ignore', divide='ignore'):
    sd = np.sqrt(np.nansum((g - np.expand_dims(mean, -1)) ** 2, -1) / (n - 1))
    t = mean / (sd / np.sqrt(n))
    p = 2 * stats.t.sf(np.abs(t), np.maximum(n - 1, 1))
  p = np.where((sd == 0) & (mean == 0), 1.0, p)
  return np.where(n >= 2, p, np.nan)


def per_size(gains, margin: float, alpha: float = 0.05) -> dict:
  """Per size (the last axis of `gains` (..., S, K) is sizes, the one before it
  seeds): mean, 95 % t-interval, t-test p, its Holm adjustment across sizes, and
  whether TOST (Holm-adjusted across sizes too) finds the gain inside +-margin."""
  g = np.swapaxes(np.asarray(gains, float), -1, -2)  # (..., K, S)
  mean, low, high = size_slope.t_interval(g)
  p = t_test_p(g)
  _, p_tost = size_slope.tost(g, margin, alpha)
  p_holm = multiplicity.holm(p)
  p_tost_holm = multiplicity.holm(p_tost)
  return dict(mean=mean, low=low, high=high, p=p, p_holm=p_holm,
              significant=np.where(np.isfinite(p_holm), p_holm < alpha, False),
              p_tost_holm=p_tost_holm,
              equivalent=np.where(np.isfinite(p_tost_holm), p_tost_holm < alpha, False))
