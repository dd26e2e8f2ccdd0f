"""Flagged models as an outcome: each size's failure rate with an exact interval."""

import dataclasses

import numpy as np
from scipy import stats


@dataclasses.dataclass(frozen=True)
class FailureRate:
  label: str
  flagged: int
  models: int
  low: float  # 95 % Clopper-Pearson interval of the failure rate.
  high: float


def failure_rates(labels, fit: np.ndarray, present: np.ndarray) -> list[FailureRate]:
  """Per size (columns of the (S, K) masks): flagged of finished models."""
  out = []
  for k, label in enumerate(labels):
    n, flagged = int(present[:, k].sum()), int((present[:, k] & ~fit[:, k]).sum())
    if n:
      ci = stats.binomtest(flagged, n).proportion_ci(0.95, method='exact')
      out.append(FailureRate(label, flagged, n, float(ci.low), float(ci.high)))
    else:
      out.append(FailureRate(label, 0, 0, float('nan'), float('nan')))
  return out
