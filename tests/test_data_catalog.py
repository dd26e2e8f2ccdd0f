"""The MedMNIST 2D catalogue: official facts, every subset and size, task types."""

import os
import pathlib
import re

import numpy as np
import pytest

import data_helpers

from configs import default
from medadv_jax.data import dataset, medmnist_catalog
from medadv_jax.errors import ConfigError, DataError
from medadv_jax.study import config_validation

SHARED = pathlib.Path(os.environ['MEDMNIST_DIR'])
SUBSETS_2D = ('pathmnist', 'chestmnist', 'dermamnist', 'octmnist', 'pneumoniamnist',
              'retinamnist', 'breastmnist', 'bloodmnist', 'tissuemnist', 'organamnist',
              'organcmnist', 'organsmnist')


_data_config = data_helpers.data_config


def test_catalogue_holds_every_2d_subset_at_every_size_with_distinct_md5s():
  assert sorted(medmnist_catalog.CATALOG) == sorted(SUBSETS_2D)
  md5s = [md5 for info in medmnist_catalog.CATALOG.values()
          for md5 in info.md5_by_size.values()]
  assert len(md5s) == 12 * 4 and len(set(md5s)) == len(md5s)
  assert all(re.fullmatch('[0-9a-f]{32}', md5) for md5 in md5s)
  for info in medmnist_catalog.CATALOG.values():
    assert sorted(info.md5_by_size) == [28, 64, 128, 224]
    assert info.task in medmnist_catalog.TASKS and info.channels in (1, 3)
    assert all(info.split_sizes[s] > 0 for s in ('train', 'val', 'test'))


def test_catalogue_facts_match_medmnist_info():
  chest = medmnist_catalog.CATALOG['chestmnist']
  assert chest.task == 'multi-label' and chest.num_classes == 14
  assert medmnist_catalog.CATALOG['retinamnist'].task == 'ordinal'
  assert medmnist_catalog.CATALOG['dermamnist'].licence == 'CC BY-NC 4.0'
  assert medmnist_catalog.CATALOG['organamnist'].split_sizes == dict(
      train=34561, val=6491, test=17778)
  assert medmnist_catalog.CATALOG['breastmnist'].url(224) == (
      'https://zenodo.org/records/10519652/files/breastmnist_224.npz?download=1')


def test_catalogue_md5s_equal_those_of_the_official_files_in_the_shared_folder():
  for line in (SHARED / 'MD5SUMS').read_text().splitlines():
    md5, file_name = line.split()
    name, _, size = file_name.removesuffix('.npz').partition('_')
    assert medmnist_catalog.CATALOG[name].md5_by_size[int(size or 28)] == md5, file_name


@pytest.mark.parametrize('name, size', [('breastmnist', 64), ('retinamnist', 28)])
def test_official_files_load_with_the_catalogued_split_sizes_and_channels(name, size):
  data = dataset.load_dataset(_data_config(pathlib.Path('/nonexistent'), name=name,
                                           size=size, dir='', verify_md5=True))
  info = medmnist_catalog.CATALOG[name]
  assert (data.train_labels.size, data.val_labels.size, data.test_labels.size) == tuple(
      info.split_sizes[s] for s in ('train', 'val', 'test'))
  assert data.image_shape == (size, size, info.channels)
  assert set(np.unique(data.test_labels)) == set(range(info.num_classes))


def _write_chest(path, labels_by_split):
  arrays = {}
  for split, labels in labels_by_split.items():
    arrays[f'{split}_images'] = np.zeros((labels.shape[0], 8, 8), np.uint8)
    arrays[f'{split}_labels'] = labels
  np.savez(path, **arrays)


def test_multi_label_subset_keeps_its_multi_hot_labels(tmp_path):
  labels = (np.arange(6 * 14).reshape(6, 14) % 3 == 0).astype(np.uint8)
  _write_chest(tmp_path / 'chestmnist.npz', dict(train=labels, val=labels, test=labels))
  data = dataset.load_dataset(_data_config(tmp_path, name='chestmnist'))
  assert data.is_multi_label and not data.is_binary and not data.is_multi_class
  assert data.train_labels.shape == (6, 14) and data.train_labels.dtype == np.int32
  np.testing.assert_array_equal(data.train_labels, labels)


@pytest.mark.parametrize('bad, message', [
    (np.zeros((6, 1), np.uint8), r'shape \(6, 1\); a multi-label subset needs \(6, 14\)'),
    (np.full((6, 14), 2, np.uint8), 'values other than 0 and 1'),
])
def test_malformed_multi_label_arrays_are_rejected(tmp_path, bad, message):
  good = np.zeros((6, 14), np.uint8)
  _write_chest(tmp_path / 'chestmnist.npz', dict(train=good, val=bad, test=good))
  with pytest.raises(DataError, match=message):
    dataset.load_dataset(_data_config(tmp_path, name='chestmnist'))


def test_float_labels_are_rejected(tmp_path):
  labels = np.zeros((6, 1), np.float32)
  arrays = {f'{s}_{k}': (np.zeros((6, 8, 8), np.uint8) if k == 'images' else labels)
            for s in ('train', 'val', 'test') for k in ('images', 'labels')}
  np.savez(tmp_path / 'pneumoniamnist.npz', **arrays)
  with pytest.raises(DataError, match='dtype float32; expected integer class indices'):
    dataset.load_dataset(_data_config(tmp_path))


def test_splits_of_different_image_sizes_are_rejected(tmp_path):
  arrays = {}
  for split, size in (('train', 8), ('val', 8), ('test', 9)):
    arrays[f'{split}_images'] = np.zeros((4, size, size), np.uint8)
    arrays[f'{split}_labels'] = np.zeros((4, 1), np.uint8)
  np.savez(tmp_path / 'pneumoniamnist.npz', **arrays)
  with pytest.raises(DataError, match='images of different shapes'):
    dataset.load_dataset(_data_config(tmp_path))


@pytest.mark.parametrize('task, answers', [
    ('binary', (True, False, False, False)),
    ('multi-class', (False, True, False, False)),
    ('ordinal', (False, True, False, True)),
    ('multi-label', (False, False, True, False)),
])
def test_task_queries(task, answers):
  empty = np.zeros((0,))
  data = dataset.Dataset('x', task, ('a', 'b', 'c'), *([empty] * 6))
  assert (data.is_binary, data.is_multi_class, data.is_multi_label,
          data.is_ordinal) == answers


@pytest.mark.parametrize('field, value, message', [
    ('name', 'nosuchmnist', 'tissuemnist, chest_xray_folder'),
    ('size', 32, r'\[28, 64, 128, 224\] for pneumoniamnist'),
    ('split', 'random', 'official, pooled'),
    ('split_fractions', (0.7, 0.2, 0.2), 'summing to 1'),
    ('split_fractions', (0.71, 0.29), 'summing to 1'),
])
def test_bad_data_fields_are_config_errors(field, value, message):
  config = default.get_config('smoke')
  config.data[field] = value
  with pytest.raises(ConfigError, match=f'data.{field}.*{message}'):
    config_validation.validate(config)


def test_every_2d_subset_and_size_passes_config_validation():
  config = default.get_config('smoke')
  for name in SUBSETS_2D:
    if name == 'chestmnist':
      continue  # Multi-label: not yet trainable by the study.
    for size in (28, 64, 128, 224):
      config.data.name, config.data.size = name, size
      config_validation.validate(config)


def test_image_folder_needs_a_dir_and_a_builder_size_with_tfds():
  config = default.get_config('smoke')
  config.data.name, config.data.size = 'chest_xray_folder', 32
  with pytest.raises(ConfigError, match='data.dir.*image folder of chest_xray_folder'):
    config_validation.validate(config)
  config.data.dir = '/data/chest_xray'
  config_validation.validate(config)  # Any size >= 8 for a direct read.
  config.data.tfds_dir = '/tmp/tfds'
  with pytest.raises(ConfigError, match='data.size.*tfds builder configs'):
    config_validation.validate(config)
