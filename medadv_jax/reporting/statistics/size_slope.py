"""Claim (a)'s primary endpoint: robust accuracy's least-squares slope on
log2(parameters) per seed, its mean over seeds with a t-interval, equivalence by
two one-sided tests (TOST), and Page's L with seeds as blocks.

Arrays carry any leading batch axes (e.g. simulated studies), then seeds S, then
sizes K, so that thousands of studies are one vectorised call.
"""

import numpy as np
from scipy import stats

# Fewest fit sizes a seed needs for its own slope.
MIN_SIZES = 3


def seed_slopes(log2_params, endpoint, fit=None, min_sizes: int = MIN_SIZES) -> np.ndarray:
  """(..., S) slopes of `endpoint` (..., S, K) on `log2_params` (K,) per seed,
  over the sizes where `fit` (..., S, K bool; None: all); NaN for a seed with
  fewer than `min_sizes` fit sizes. Units: endpoint per doubling of parameters."""
  y = np.asarray(endpoint, float)
  w = np.ones(y.shape, bool) if fit is None else np.asarray(fit, bool) & np.isfinite(y)
  x = np.broadcast_to(np.asarray(log2_params, float), y.shape)
  count = w.sum(-1)
  with np.errstate(invalid='ignore', divide='ignore'):
    x_mean = np.where(w, x, 0).sum(-1) / count
    y_mean = np.where(w, y, 0).sum(-1) / count
    dx = np.where(w, x - x_mean[..., None], 0)
    dy = np.where(w, y - y_mean[..., None], 0)
    slope = (dx * dy).sum(-1) / (dx * dx).sum(-1)
  return np.where(count >= max(min_sizes, 2), slope, np.nan)


def residuals(log2_params, endpoint, fit=None, min_sizes: int = MIN_SIZES) -> np.ndarray:
  """(..., S, K) each seed's endpoint minus its own least-squares line; NaN where
  not fit or the seed has no slope. What a line misses: a zig-zag over sizes."""
  y = np.asarray(endpoint, float)
  w = np.ones(y.shape, bool) if fit is None else np.asarray(fit, bool) & np.isfinite(y)
  x = np.broadcast_to(np.asarray(log2_params, float), y.shape)
  slope = seed_slopes(log2_params, y, w, min_sizes)
  with np.errstate(invalid='ignore'):
    count = w.sum(-1)
    x_mean = np.where(w, x, 0).sum(-1) / count
    y_mean = np.where(w, y, 0).sum(-1) / count
  line = y_mean[..., None] + slope[..., None] * (x - x_mean[..., None])
  return np.where(w & np.isfinite(line), y - line, np.nan)


def t_interval(values, level: float = 0.95):
  """(mean, low, high) over the last axis (seeds; NaN entries left out): the
  Student-t interval with n - 1 degrees of freedom; NaN bounds below 2 values."""
  v = np.asarray(values, float)
  n = np.isfinite(v).sum(-1)
  with np.errstate(invalid='ignore', divide='ignore'):
    mean = np.where(np.isfinite(v), v, 0).sum(-1) / n
    sd = np.sqrt(np.nansum((v - np.expand_dims(mean, -1)) ** 2, -1) / (n - 1))
    half = stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
  half = np.where(n >= 2, half, np.nan)
  return mean, mean - half, mean + half


def tost(values, margin: float, alpha: float = 0.05):
  """(equivalent, p): two one-sided t-tests over the last axis that the mean lies
  inside (-margin, margin); equivalent when both reject at `alpha`, i.e. the
  1 - 2 alpha t-interval lies inside the margin. p is the larger one-sided p."""
  v = np.asarray(values, float)
  n = np.isfinite(v).sum(-1)
  mean, _, _ = t_interval(v)
  with np.errstate(invalid='ignore', divide='ignore'):
    sd = np.sqrt(np.nansum((v - np.expand_dims(mean, -1)) ** 2, -1) / (n - 1))
    se = sd / np.sqrt(n)
    df = np.maximum(n - 1, 1)
    p_low = stats.t.sf((mean + margin) / se, df)  # H0: mean <= -margin.
    p_high = stats.t.cdf((mean - margin) / se, df)  # H0: mean >= +margin.
  p = np.where(n >= 2, np.maximum(p_low, p_high), np.nan)
  return np.where(np.isfinite(p), p < alpha, False), p


def lack_of_fit_bound(log2_params, margin: float) -> float:
  """The largest mean residual of a size that still counts as 'no size effect':
  half of what a line at the margin moves over the sizes' span of doublings."""
  x = np.asarray(log2_params, float)
  return margin * (x.max() - x.min()) / 2


def equivalent(log2_params, endpoint, fit, margin: float, alpha: float = 0.05,
               min_sizes: int = MIN_SIZES):
  """(...,) bool: no size effect beyond `margin` per doubling. An intersection-union
  test: the slope's TOST and, for every size, the TOST of its mean residual inside
  `lack_of_fit_bound`, so that sizes of very different robustness whose line is
  flat (a zig-zag) are never equivalent."""
  slope_ok, _ = tost(seed_slopes(log2_params, endpoint, fit, min_sizes), margin, alpha)
  res = residuals(log2_params, endpoint, fit, min_sizes)
  bound = lack_of_fit_bound(log2_params, margin)
  size_ok, _ = tost(np.swapaxes(res, -1, -2), bound, alpha)  # (..., K) over seeds.
  return slope_ok & size_ok.all(-1)


def page_trend(endpoint, log2_params):
  """(L, p) of Page's exact test that the endpoint falls as parameters grow,
  seeds (S, K rows; those with a NaN left out) as blocks; (NaN, NaN) below 2
  seeds or 3 sizes."""
  y = np.asarray(endpoint, float)
  y = y[np.isfinite(y).all(-1)] if y.ndim == 2 else y
  if y.ndim != 2 or y.shape[0] < 2 or y.shape[1] < 3:
    return float('nan'), float('nan')
  order = np.argsort(-np.asarray(log2_params, float), kind='stable')  # Largest first.
  result = stats.page_trend_test(y[:, order])
  return float(result.statistic), float(result.pvalue)
