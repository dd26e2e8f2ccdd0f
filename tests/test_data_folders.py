"""The paper's image-folder datasets, on small folders the tests generate."""


import shutil

import ml_collections
import numpy as np
import pytest

from medadv_jax.data import dataset
from medadv_jax.errors import DataError
from data_helpers import make_chest_folder

def _config(root, **overrides):
  config = ml_collections.ConfigDict(dict(
      name='chest_xray_folder', size=16, dir=str(root), cache_dir='', download=False,
      verify_md5=False, train_limit=0, attack_per_class=0, split='official',
      split_fractions=(0.71, 0.145, 0.145), grey_to_rgb=False))
  config.update(overrides)
  return config


def test_folder_decodes_resizes_and_labels_by_class_folder(tmp_path):
  data = dataset.load_dataset(_config(make_chest_folder(tmp_path)))
  assert data.train_images.shape == (6, 16, 16, 1) and data.train_images.dtype == np.float32
  assert data.test_labels.tolist() == [0, 0, 1, 1] and data.is_binary
  # Pixel values survive decoding: NORMAL (label 0) black, PNEUMONIA white.
  np.testing.assert_allclose(data.train_images.max(axis=(1, 2, 3)), data.train_labels)
  np.testing.assert_allclose(data.train_images.min(axis=(1, 2, 3)), data.train_labels)


def test_grey_to_rgb_stacks_three_equal_channels(tmp_path):
  data = dataset.load_dataset(_config(make_chest_folder(tmp_path), grey_to_rgb=True))
  assert data.image_shape == (16, 16, 3)
  np.testing.assert_array_equal(data.val_images[..., 0], data.val_images[..., 2])


def test_folder_without_split_folders_needs_the_pooled_protocol(tmp_path):
  root = make_chest_folder(tmp_path, per_class=(20, 0, 0), splits=False)
  with pytest.raises(DataError, match=r"no images for the split\(s\) \['val', 'test'\].*"
                     'data.split=pooled'):
    dataset.load_dataset(_config(root))
  data = dataset.load_dataset(_config(root, split='pooled'), seed=0)
  sizes = (data.train_labels.size, data.val_labels.size, data.test_labels.size)
  assert sizes == (28, 6, 6)  # Per class of 20: 14 / 3 / 3.


def test_release_with_train_and_test_folders_only_pools_both(tmp_path):
  # Kermany's Mendeley release: train/ and test/, no val/.
  root = make_chest_folder(tmp_path, per_class=(14, 0, 6))
  shutil.rmtree(root / 'val')
  with pytest.raises(DataError, match=r"no images for the split\(s\) \['val'\]"):
    dataset.load_dataset(_config(root))
  data = dataset.load_dataset(_config(root, split='pooled'), seed=0)
  sizes = (data.train_labels.size, data.val_labels.size, data.test_labels.size)
  assert sizes == (28, 6, 6)  # Per class 14 + 6 = 20: 14 / 3 / 3.


def test_missing_folder_names_the_layout(tmp_path):
  with pytest.raises(DataError, match=r'does not exist.*--config.data.dir.*NORMAL,PNEUMONIA'):
    dataset.load_dataset(_config(tmp_path / 'absent'))


def test_missing_class_folder_is_named(tmp_path):
  root = make_chest_folder(tmp_path)
  for path in (root / 'val' / 'PNEUMONIA').iterdir():
    path.unlink()
  (root / 'val' / 'PNEUMONIA').rmdir()
  with pytest.raises(DataError, match=r'val/PNEUMONIA is missing.*found \[\'NORMAL\'\]'):
    dataset.load_dataset(_config(root))


def test_empty_class_folder_is_named(tmp_path):
  root = make_chest_folder(tmp_path)
  for path in (root / 'test' / 'NORMAL').iterdir():
    path.unlink()
  (root / 'test' / 'NORMAL' / '.DS_Store').write_bytes(b'\0')  # Hidden: not an image.
  with pytest.raises(DataError, match='test/NORMAL holds no images'):
    dataset.load_dataset(_config(root))


def test_unreadable_image_is_named(tmp_path):
  root = make_chest_folder(tmp_path)
  (root / 'train' / 'NORMAL' / 'broken.jpeg').write_bytes(b'not a jpeg at all')
  with pytest.raises(DataError, match=r'cannot read image .*broken\.jpeg.*replace or delete'):
    dataset.load_dataset(_config(root))


def test_empty_dir_is_not_the_working_directory(tmp_path, monkeypatch):
  monkeypatch.chdir(make_chest_folder(tmp_path))  # A valid folder as cwd.
  with pytest.raises(DataError, match="image folder '' for chest_xray_folder does not exist"):
    dataset.load_dataset(_config(''))
