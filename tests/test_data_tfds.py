"""The TF-free tensorflow-datasets builder of the MedMNIST files."""

import os
import pathlib

import shutil

import numpy as np
import pytest
# A dependency in requirements.txt: a missing install fails here, never skips.
import tensorflow_datasets as tfds

from medadv_jax.data import dataset, medmnist_source, prepared_folder, tfds_medmnist
from medadv_jax.errors import DataError
from data_helpers import data_config, make_chest_folder

SHARED = pathlib.Path(os.environ['MEDMNIST_DIR'])


def _prepare(config, data_dir, manual_dir):
  builder = tfds_medmnist.MedmnistOfficial(config=config, data_dir=data_dir,
                                           file_format='array_record')
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir)))


def test_builder_has_one_config_per_subset_and_size():
  names = {config.name for config in tfds_medmnist.MedmnistOfficial.BUILDER_CONFIGS}
  assert len(names) == 12 * 4 and {'breastmnist_64', 'chestmnist_224'} <= names


def test_prepared_records_read_back_equal_to_the_official_file(tmp_path):
  _prepare('breastmnist_28', tmp_path, SHARED)
  test = tfds.data_source('medmnist_official/breastmnist_28', split='test',
                          data_dir=tmp_path)
  official = medmnist_source.load_splits(SHARED / 'breastmnist.npz', 2, 1)['test']
  assert len(test) == 156
  images = np.stack([test[i]['image'] for i in range(len(test))])
  labels = np.array([test[i]['label'] for i in range(len(test))])
  np.testing.assert_array_equal(images, official.images)
  np.testing.assert_array_equal(labels, official.labels)


def test_md5_mismatch_names_expected_and_found(tmp_path):
  manual = tmp_path / 'manual'
  manual.mkdir()
  rng = np.random.default_rng(0)
  arrays = {f'{s}_images': rng.integers(0, 256, (4, 28, 28), np.uint8)
            for s in ('train', 'val', 'test')}
  arrays.update({f'{s}_labels': np.zeros((4, 1), np.uint8) for s in ('train', 'val', 'test')})
  np.savez(manual / 'breastmnist.npz', **arrays)
  found = medmnist_source.file_md5(manual / 'breastmnist.npz')
  with pytest.raises(DataError, match=f'MD5 {found}, but the official file has '
                                      '750601b1f35ba3300ea97c75c52ff8f6'):
    _prepare('breastmnist_28', tmp_path / 'data', manual)


def test_folder_builder_reads_back_the_decoded_folder(tmp_path):
  from PIL import Image  # pylint: disable=g-import-not-at-top
  from medadv_jax.data import image_folder, tfds_folders  # pylint: disable=g-import-not-at-top
  root = tmp_path / 'chest_xray'
  for split in ('train', 'val', 'test'):
    for label, name in enumerate(('NORMAL', 'PNEUMONIA')):
      (root / split / name).mkdir(parents=True)
      for i in range(2):
        Image.new('L', (50, 40), 80 * label + 10 * i).save(root / split / name / f'{i}.png')
  builder = tfds_folders.PaperImageFolders(config='chest_xray_folder_28',
                                           data_dir=tmp_path / 'data',
                                           file_format='array_record')
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir=str(root)))
  val = tfds.data_source('paper_image_folders/chest_xray_folder_28', split='val',
                         data_dir=tmp_path / 'data')
  expected = image_folder.load_folder(image_folder.FOLDER_DATASETS['chest_xray_folder'],
                                      str(root), 28)['val']
  assert len(val) == 4
  np.testing.assert_array_equal(np.stack([val[i]['image'] for i in range(4)]),
                                expected.images)
  assert [int(val[i]['label']) for i in range(4)] == [0, 0, 1, 1]


def test_load_dataset_through_tfds_equals_the_direct_read(tmp_path):
  import ml_collections  # pylint: disable=g-import-not-at-top
  config = ml_collections.ConfigDict(dict(
      name='retinamnist', size=28, dir='', cache_dir=str(tmp_path / 'cache'),
      download=False, verify_md5=True, train_limit=0, attack_per_class=0,
      split='official', split_fractions=(0.71, 0.145, 0.145), grey_to_rgb=False,
      tfds_dir=str(tmp_path / 'tfds')))
  via_tfds = dataset.load_dataset(config)
  config.tfds_dir = ''
  direct = dataset.load_dataset(config)
  np.testing.assert_array_equal(via_tfds.test_images, direct.test_images)
  np.testing.assert_array_equal(via_tfds.train_labels, direct.train_labels)
  assert via_tfds.is_ordinal and via_tfds.image_shape == (28, 28, 3)


def _folder_via_tfds(root, tfds_dir):
  return data_config(root, name='chest_xray_folder', size=28, cache_dir='',
                     tfds_dir=str(tfds_dir))


def test_prepared_folder_is_reused_only_for_the_folder_it_was_built_from(tmp_path):
  root = make_chest_folder(tmp_path / 'chest_xray')
  tfds_dir = tmp_path / 'tfds'
  first = dataset.load_dataset(_folder_via_tfds(root, tfds_dir))
  # A copy elsewhere lists the same files: the prepared records serve it.
  copy = pathlib.Path(shutil.copytree(root, tmp_path / 'copy'))
  again = dataset.load_dataset(_folder_via_tfds(copy, tfds_dir))
  np.testing.assert_array_equal(again.test_images, first.test_images)
  listing_files = list(tfds_dir.rglob(prepared_folder.LISTING_FILE))
  assert len(listing_files) == 1
  before = listing_files[0].read_bytes()

  # One more image in the copy: reading the old records would be wrong data.
  shutil.copy(copy / 'test' / 'NORMAL' / 'test_0.jpeg', copy / 'test' / 'NORMAL' / 'new.jpeg')
  with pytest.raises(DataError, match=r"data.dir='.*copy' \(15 files\) differs from the "
                                      r'image folder .*chest_xray, 14 files then\).*Delete'):
    dataset.load_dataset(_folder_via_tfds(copy, tfds_dir))
  # A replaced image of another size is caught too, and nothing was rewritten.
  (root / 'train' / 'PNEUMONIA' / 'train_0.jpeg').write_bytes(b'not the same image')
  with pytest.raises(DataError, match='added, removed, renamed or replaced'):
    dataset.load_dataset(_folder_via_tfds(root, tfds_dir))
  assert listing_files[0].read_bytes() == before

  # Records whose source was never recorded are not trusted.
  listing_files[0].unlink()
  with pytest.raises(DataError, match='no source_folder.json, so which image folder'):
    dataset.load_dataset(_folder_via_tfds(copy, tfds_dir))
