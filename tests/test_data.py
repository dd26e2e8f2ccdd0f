"""MedMNIST files: location, verification, validation and the clear errors."""

import os
import pathlib

import numpy as np
import pytest

import data_helpers

from medadv_jax.data import dataset, medmnist_source
from medadv_jax.errors import ConfigError, DataError


def _write_npz(path: pathlib.Path, n=(12, 4, 6), size=8, channels=None, classes=2,
               **overrides):
  rng = np.random.default_rng(0)
  arrays = {}
  for split, count in zip(medmnist_source.SPLITS, n):
    shape = (count, size, size) + ((channels,) if channels else ())
    arrays[f'{split}_images'] = rng.integers(0, 256, shape, dtype=np.uint8)
    arrays[f'{split}_labels'] = (np.arange(count) % classes).astype(np.uint8)[:, None]
  arrays.update(overrides)
  arrays = {k: v for k, v in arrays.items() if v is not None}
  np.savez(path, **arrays)
  return path


_data_config = data_helpers.data_config


def test_generated_file_loads_as_float_images_in_unit_range(tmp_path):
  _write_npz(tmp_path / 'pneumoniamnist.npz')
  data = dataset.load_dataset(_data_config(tmp_path))
  assert data.train_images.shape == (12, 8, 8, 1) and data.train_images.dtype == np.float32
  assert 0.0 <= data.train_images.min() and data.train_images.max() <= 1.0
  assert data.test_labels.dtype == np.int32 and data.num_classes == 2


def test_grey_to_rgb_stacks_medmnist_images_too(tmp_path):
  # The paper's input is 3 stacked grey channels, whatever the source.
  _write_npz(tmp_path / 'pneumoniamnist.npz')
  grey = dataset.load_dataset(_data_config(tmp_path))
  rgb = dataset.load_dataset(_data_config(tmp_path, grey_to_rgb=True))
  assert rgb.image_shape == (8, 8, 3)
  for channel in range(3):
    np.testing.assert_array_equal(rgb.test_images[..., channel], grey.test_images[..., 0])


def test_official_file_from_shared_folder_passes_md5(monkeypatch):
  # MEDMNIST_DIR points at ../shared/medmnist (tests/conftest.py).
  config = _data_config(pathlib.Path('/nonexistent'), dir='', verify_md5=True)
  data = dataset.load_dataset(config)
  assert (data.train_labels.size, data.val_labels.size, data.test_labels.size) == (4708, 524, 624)


def test_missing_file_says_where_it_looked_and_how_to_fix(tmp_path, monkeypatch):
  monkeypatch.delenv('MEDMNIST_DIR')
  with pytest.raises(DataError, match=r'pneumoniamnist\.npz not found.*MEDMNIST_DIR'):
    dataset.load_dataset(_data_config(tmp_path))


def test_truncated_file_is_reported_as_corrupt(tmp_path):
  path = _write_npz(tmp_path / 'pneumoniamnist.npz')
  path.write_bytes(path.read_bytes()[:300])
  with pytest.raises(DataError, match='corrupt or truncated'):
    dataset.load_dataset(_data_config(tmp_path))


def test_md5_mismatch_names_expected_and_found(tmp_path):
  _write_npz(tmp_path / 'pneumoniamnist.npz')
  with pytest.raises(DataError, match='28209eda62fecd6e6a2d98b1501bb15f'):
    dataset.load_dataset(_data_config(tmp_path, verify_md5=True))


@pytest.mark.parametrize('overrides, message', [
    (dict(val_labels=None), r"lacks the arrays \['val_labels'\]"),
    (dict(test_images=np.zeros((6, 8, 8), np.float32)), 'dtype float32; expected uint8'),
    (dict(train_images=np.zeros((12, 8, 8, 3), np.uint8)), r'expected \(N, H, W\) or'),
    (dict(train_labels=np.full((12, 1), 7, np.uint8)), r'expected integers in \[0, 1\]'),
    (dict(val_labels=np.zeros((3, 1), np.uint8)), 'one label per image'),
])
def test_malformed_arrays_get_one_clear_error(tmp_path, overrides, message):
  _write_npz(tmp_path / 'pneumoniamnist.npz', **overrides)
  with pytest.raises(DataError, match=message):
    dataset.load_dataset(_data_config(tmp_path))


def test_unknown_subset_and_size_are_config_errors(tmp_path):
  with pytest.raises(ConfigError, match='data.name'):
    dataset.load_dataset(_data_config(tmp_path, name='nosuchmnist'))
  with pytest.raises(ConfigError, match='data.size'):
    dataset.load_dataset(_data_config(tmp_path, size=65))


def test_attack_subset_takes_k_per_class_deterministically():
  labels = np.array([0] * 30 + [1] * 5 + [2] * 20)
  chosen = dataset.attack_subset(labels, per_class=10, seed=3)
  assert np.bincount(labels[chosen]).tolist() == [10, 5, 10]
  np.testing.assert_array_equal(chosen, dataset.attack_subset(labels, 10, seed=3))
  assert not np.array_equal(chosen, dataset.attack_subset(labels, 10, seed=4))
  assert dataset.attack_subset(labels, 0, seed=0).size == labels.size


def test_download_is_verified_and_placed_in_the_cache(tmp_path, monkeypatch):
  # No network here: the "download" copies the official file from the shared folder.
  official = pathlib.Path(os.environ['MEDMNIST_DIR']) / 'pneumoniamnist.npz'
  fetched = []

  def fake_urlretrieve(url, target):
    fetched.append(url)
    pathlib.Path(target).write_bytes(official.read_bytes())

  monkeypatch.delenv('MEDMNIST_DIR')
  monkeypatch.setattr(medmnist_source.urllib.request, 'urlretrieve', fake_urlretrieve)
  path = medmnist_source.locate_file('pneumoniamnist', 28, '', str(tmp_path / 'cache'), True)
  assert path == tmp_path / 'cache' / 'pneumoniamnist.npz' and path.is_file()
  assert fetched == ['https://zenodo.org/records/10519652/files/pneumoniamnist.npz?download=1']
  assert list((tmp_path / 'cache').iterdir()) == [path]  # No partial file left behind.


def test_corrupt_download_is_rejected_and_not_kept(tmp_path, monkeypatch):
  monkeypatch.delenv('MEDMNIST_DIR')
  monkeypatch.setattr(medmnist_source.urllib.request, 'urlretrieve',
                      lambda url, target: pathlib.Path(target).write_bytes(b'truncated'))
  with pytest.raises(DataError, match='has MD5 .* but the official file has'):
    medmnist_source.locate_file('pneumoniamnist', 28, '', str(tmp_path / 'cache'), True)
  assert list((tmp_path / 'cache').iterdir()) == []


def test_failed_download_explains_how_to_provide_the_file(tmp_path, monkeypatch):
  monkeypatch.delenv('MEDMNIST_DIR')

  def offline(url, target):
    raise OSError('Temporary failure in name resolution')

  monkeypatch.setattr(medmnist_source.urllib.request, 'urlretrieve', offline)
  with pytest.raises(DataError, match=r'download from .* failed .*name resolution.*'
                                      r'--config.data.dir=FOLDER'):
    medmnist_source.locate_file('pneumoniamnist', 28, '', str(tmp_path / 'cache'), True)
