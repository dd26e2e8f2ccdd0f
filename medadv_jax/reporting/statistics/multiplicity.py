"""Holm's step-down adjustment of a family of p-values."""

import numpy as np


def holm(p_values) -> np.ndarray:
  """Holm-adjusted p-values over the last axis (NaN entries are not members of the
  family and stay NaN); reject where the adjusted p < alpha keeps the family-wise
  error rate at alpha."""
  p = np.asarray(p_values, float)
  finite = np.isfinite(p)
  m = finite.sum(-1, keepdims=True)
  filled = np.where(finite, p, np.inf)
  order = np.argsort(filled, -1, kind='stable')
  ranked = np.take_along_axis(filled, order, -1)
  rank = np.arange(p.shape[-1])
  with np.errstate(invalid='ignore'):
    scaled = np.minimum((m - rank) * ranked, 1.0)
  scaled = np.where(np.isfinite(ranked), scaled, 0.0)
  adjusted = np.maximum.accumulate(scaled, -1)
  out = np.empty_like(adjusted)
  np.put_along_axis(out, order, adjusted, -1)
  return np.where(finite, out, np.nan)
