"""Clean test metrics as clinicians read them on imbalanced data.

Accuracy alone rewards predicting the common class: on BreastMNIST's test set a
model that calls every image benign scores 0.73. Balanced accuracy (the mean
per-class recall) puts that model at chance, and the area under the ROC curve
(one-vs-rest, averaged over classes, as MedMNIST reports it) ranks its scores.
Multi-label tasks (ChestMNIST) are scored per label, as binary tasks, and averaged.
"""

import dataclasses

import numpy as np
from scipy import special, stats

BOOTSTRAP_REPLICATES = 2000


@dataclasses.dataclass(frozen=True)
class CleanMetrics:
  """A model's clean metrics on a test set of `n` images."""
  n: int
  accuracy: float
  balanced_accuracy: float
  balanced_accuracy_ci: tuple[float, float]  # 95 %, resampling images within each class.
  auc: float  # NaN where a class (label) has no positive or no negative image.
  chance: float  # Balanced accuracy of any constant or random prediction.
  majority_prediction_share: float  # Share of predictions in the most predicted class.
  predicted_counts: tuple[int, ...]  # Per class (multi-label: positives per label).


def from_logits(logits: np.ndarray, labels: np.ndarray, seed: int = 0) -> CleanMetrics:
  """Metrics of `logits` (N, K) against `labels`: (N,) ints, or (N, K) 0/1 for a
  multi-label task (sigmoid outputs, threshold 0.5)."""
  logits, labels = np.asarray(logits, np.float64), np.asarray(labels)
  if labels.ndim == 2:
    return _multi_label(logits, labels.astype(bool), seed)
  k = logits.shape[1]
  predicted = logits.argmax(axis=1)
  scores = special.softmax(logits, axis=1)
  auc = (binary_auc(scores[:, 1], labels == 1) if k == 2 else
         float(np.mean([binary_auc(scores[:, c], labels == c) for c in range(k)])))
  counts = np.bincount(predicted, minlength=k)
  return CleanMetrics(
      n=int(labels.size), accuracy=float(np.mean(predicted == labels)),
      balanced_accuracy=balanced_accuracy(predicted, labels, k),
      balanced_accuracy_ci=_balanced_interval(predicted == labels, labels, k, seed),
      auc=auc, chance=1.0 / k,
      majority_prediction_share=float(counts.max() / max(1, labels.size)),
      predicted_counts=tuple(int(c) for c in counts))


def balanced_accuracy(predicted: np.ndarray, labels: np.ndarray, k: int) -> float:
  """Mean recall over the classes present in `labels` (as scikit-learn's)."""
  present = [c for c in range(k) if np.any(labels == c)]
  return float(np.mean([np.mean(predicted[labels == c] == c) for c in present]))


def binary_auc(scores: np.ndarray, positive: np.ndarray) -> float:
  """Area under the ROC curve (Mann-Whitney, ties count half); NaN without both
  positive and negative images."""
  positive = np.asarray(positive, bool)
  n_pos, n_neg = int(positive.sum()), int((~positive).sum())
  if n_pos == 0 or n_neg == 0:
    return float('nan')
  ranks = stats.rankdata(scores)
  return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _balanced_interval(correct: np.ndarray, labels: np.ndarray, k: int,
                       seed: int) -> tuple[float, float]:
  """95 % percentile interval of the balanced accuracy, resampling images within
  each class (class sizes fixed, as each recall's own binomial noise)."""
  rng = np.random.default_rng(seed)
  recalls = []
  for c in range(k):
    hits = correct[labels == c].astype(np.float64)
    if hits.size:
      picks = rng.integers(0, hits.size, size=(BOOTSTRAP_REPLICATES, hits.size))
      recalls.append(hits[picks].mean(axis=1))
  draws = np.mean(recalls, axis=0)
  low, high = np.percentile(draws, [2.5, 97.5])
  return float(low), float(high)


def _multi_label(logits, labels, seed) -> CleanMetrics:
  predicted = logits > 0
  per_label = [balanced_accuracy(predicted[:, j].astype(int), labels[:, j].astype(int), 2)
               for j in range(labels.shape[1])]
  aucs = [binary_auc(logits[:, j], labels[:, j]) for j in range(labels.shape[1])]
  # Bootstrap of the mean over labels, images resampled jointly for all labels.
  rng = np.random.default_rng(seed)
  picks = rng.integers(0, labels.shape[0], size=(200, labels.shape[0]))
  draws = []
  for p in picks:
    draws.append(np.mean([balanced_accuracy(predicted[p, j].astype(int),
                                            labels[p, j].astype(int), 2)
                          for j in range(labels.shape[1])]))
  low, high = np.percentile(draws, [2.5, 97.5])
  shares = np.maximum(predicted.mean(axis=0), 1 - predicted.mean(axis=0))
  return CleanMetrics(
      n=int(labels.shape[0]), accuracy=float(np.mean(np.all(predicted == labels, axis=1))),
      balanced_accuracy=float(np.mean(per_label)), balanced_accuracy_ci=(float(low),
                                                                         float(high)),
      auc=float(np.nanmean(aucs)) if not np.all(np.isnan(aucs)) else float('nan'),
      chance=0.5, majority_prediction_share=float(shares.min()),
      predicted_counts=tuple(int(c) for c in predicted.sum(axis=0)))
