"""Split protocols: MedMNIST's official splits, or the paper's pooled re-split.

The paper pools its sources' train/val/test folders and re-splits them
71 % / 14.5 % / 14.5 % for each of 10 seeds, reporting mean +- std over the
splits. `pooled_resplit` does that, stratified by class so every split keeps
the pooled class balance (small test sets would otherwise swing in balance
from seed to seed).
"""

import dataclasses

import numpy as np

from medadv_jax.errors import DataError

SPLITS = ('train', 'val', 'test')
PROTOCOLS = ('official', 'pooled')
PAPER_FRACTIONS = (0.71, 0.145, 0.145)


@dataclasses.dataclass(frozen=True)
class SplitArrays:
  """One split: images uint8 (N, H, W, C); labels int32 (N,), or (N, K) multi-hot."""
  images: np.ndarray
  labels: np.ndarray


def pooled_resplit(splits: dict[str, SplitArrays], fractions=PAPER_FRACTIONS,
                   seed: int = 0) -> dict[str, SplitArrays]:
  """Pools every split and re-splits it by `fractions` (train, val, test), per class.

  Deterministic in `seed`. Each class's images are shuffled and cut at the
  rounded fractions, so the union of the new splits is exactly the pool.
  Multi-hot labels (N, K) are not stratified (a row is no single class): the
  whole pool is shuffled and cut.
  """
  images = np.concatenate([splits[s].images for s in SPLITS])
  labels = np.concatenate([splits[s].labels for s in SPLITS])
  rng = np.random.default_rng(seed)
  strata = ([np.arange(labels.shape[0])] if labels.ndim == 2
            else [np.flatnonzero(labels == c) for c in np.unique(labels)])
  parts = {s: [] for s in SPLITS}
  for members in strata:
    members = rng.permutation(members)
    n_train = int(round(fractions[0] * members.size))
    n_val = int(round(fractions[1] * members.size))
    for split, chosen in zip(SPLITS, np.split(members, [n_train, n_train + n_val])):
      parts[split].append(chosen)
  result = {}
  for split in SPLITS:
    # Sorted: a split keeps the pool's order, so only the seed decides membership.
    index = np.sort(np.concatenate(parts[split]))
    if index.size == 0:
      raise DataError(
          f'the pooled re-split leaves the {split} split empty ({labels.shape[0]} images '
          f'in the pool, fractions {tuple(fractions)}): use more images or larger '
          'fractions (data.split_fractions).')
    result[split] = SplitArrays(images[index], labels[index])
  return result
