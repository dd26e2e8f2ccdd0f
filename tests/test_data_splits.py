"""Split protocols: the official splits and the paper's pooled, stratified re-split."""

import ml_collections
import numpy as np
import pytest

import data_helpers

from medadv_jax.data import dataset, splits
from medadv_jax.errors import DataError


def _splits(counts_by_split, classes=2):
  """Splits whose image i holds the value of a global running id (to trace images)."""
  result, next_id = {}, 0
  for split, count in zip(splits.SPLITS, counts_by_split):
    ids = np.arange(next_id, next_id + count)
    next_id += count
    images = np.broadcast_to(ids[:, None, None, None], (count, 2, 2, 1)).astype(np.int64)
    result[split] = splits.SplitArrays(images, (ids % classes).astype(np.int32))
  return result


def _ids(split):
  return split.images[:, 0, 0, 0]


def test_pooled_resplit_partitions_the_pool_with_the_papers_fractions_per_class():
  raw = _splits((1400, 200, 400), classes=2)  # 1000 per class.
  new = splits.pooled_resplit(raw, splits.PAPER_FRACTIONS, seed=0)
  ids = np.concatenate([_ids(new[s]) for s in splits.SPLITS])
  np.testing.assert_array_equal(np.sort(ids), np.arange(2000))  # Disjoint and complete.
  for split, fraction in zip(splits.SPLITS, splits.PAPER_FRACTIONS):
    counts = np.bincount(new[split].labels, minlength=2)
    assert counts.tolist() == [round(fraction * 1000)] * 2, split
    np.testing.assert_array_equal(new[split].labels, _ids(new[split]) % 2)  # Pairs kept.


def test_pooled_resplit_is_deterministic_per_seed_and_differs_between_seeds():
  raw = _splits((60, 20, 20))
  first = splits.pooled_resplit(raw, splits.PAPER_FRACTIONS, seed=3)
  again = splits.pooled_resplit(raw, splits.PAPER_FRACTIONS, seed=3)
  other = splits.pooled_resplit(raw, splits.PAPER_FRACTIONS, seed=4)
  np.testing.assert_array_equal(_ids(first['test']), _ids(again['test']))
  assert not np.array_equal(_ids(first['test']), _ids(other['test']))


def test_pooled_resplit_of_multi_hot_labels_shuffles_the_whole_pool():
  raw = _splits((70, 15, 15))
  raw = {s: splits.SplitArrays(a.images, np.stack([a.labels, 1 - a.labels], axis=1))
         for s, a in raw.items()}
  new = splits.pooled_resplit(raw, (0.7, 0.15, 0.15), seed=0)
  assert [new[s].labels.shape for s in splits.SPLITS] == [(70, 2), (15, 2), (15, 2)]


def test_a_pool_too_small_for_a_split_is_a_clear_error():
  with pytest.raises(DataError, match='leaves the val split empty.*split_fractions'):
    splits.pooled_resplit(_splits((2, 1, 1)), splits.PAPER_FRACTIONS, seed=0)


def _data_config(directory, **overrides):
  fields = dict(name='breastmnist', verify_md5=True, split='pooled')
  return data_helpers.data_config(directory, **{**fields, **overrides})


def test_pooled_breastmnist_resplits_all_780_images_per_seed(tmp_path):
  config = _data_config(tmp_path, dir='')  # Official file from MEDMNIST_DIR.
  data = dataset.load_dataset(config, seed=1)
  sizes = (data.train_labels.size, data.val_labels.size, data.test_labels.size)
  assert sum(sizes) == 780 and abs(sizes[0] - 0.71 * 780) <= 2
  assert abs(sizes[2] - 0.145 * 780) <= 2 and data.split_seed == 1
  official = dataset.load_dataset(_data_config(tmp_path, dir='', split='official'), seed=1)
  assert official.split_seed is None and official.test_labels.size == 156
  # Class balance of the test split follows the pool's (stratified).
  pool = np.concatenate([official.train_labels, official.val_labels, official.test_labels])
  assert abs(data.test_labels.mean() - pool.mean()) < 0.01
  assert not np.array_equal(data.test_images,
                            dataset.load_dataset(config, seed=2).test_images)


def test_split_seed_follows_the_protocol():
  assert dataset.split_seed(ml_collections.ConfigDict(dict(split='pooled')), 7) == 7
  assert dataset.split_seed(ml_collections.ConfigDict(dict(split='official')), 7) is None
