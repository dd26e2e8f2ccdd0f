"""Loads a dataset through the tensorflow-datasets builders (`data.tfds_dir`).

Prepares the builder's array_record files on first use (from the local
official file or folder, else the official download), then reads every split
back with `tfds.data_source`. Imported only when `data.tfds_dir` is set, so
tensorflow-datasets stays optional.
"""

import os
import pathlib

import numpy as np
import tensorflow_datasets as tfds

from medadv_jax.data import (image_folder, medmnist_catalog, medmnist_source, prepared_folder,
                              tfds_folders, tfds_medmnist)
from medadv_jax.data.splits import SPLITS, SplitArrays
from medadv_jax.errors import ConfigError, DataError


def load_tfds_splits(data_config) -> dict[str, SplitArrays]:
  """uint8 splits of `data_config.name` at `data_config.size` via tfds."""
  name, size = data_config.name, data_config.size
  if size not in medmnist_catalog.SIZES:
    raise ConfigError('data.size', size, f'{list(medmnist_catalog.SIZES)} with data.tfds_dir')
  builder_of = lambda builder_cls: builder_cls(
      config=f'{name}_{size}', data_dir=os.path.expanduser(data_config.tfds_dir),
      file_format='array_record')
  if name in image_folder.FOLDER_DATASETS:
    builder = builder_of(tfds_folders.PaperImageFolders)
    _prepare_folder(builder, image_folder.existing_root(
        image_folder.FOLDER_DATASETS[name], data_config.dir))
  else:
    builder = builder_of(tfds_medmnist.MedmnistOfficial)
    medmnist_source.check_data_dir(data_config.dir,
                                   medmnist_source.subset_info(name).file_name(size))
    manual_dir = data_config.dir or os.environ.get('MEDMNIST_DIR', '')
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
        manual_dir=manual_dir or None))
  splits = {}
  for split in SPLITS:
    if split not in builder.info.splits:  # A folder without split folders.
      channels = builder.info.features['image'].shape[-1]
      splits[split] = SplitArrays(np.zeros((0, size, size, channels), np.uint8),
                                  np.zeros((0,), np.int32))
      continue
    source = builder.as_data_source(split=split)
    examples = [source[i] for i in range(len(source))]
    if not examples:
      raise DataError(f'the prepared tfds split {split} of {name} in '
                      f'{data_config.tfds_dir} is empty: delete that folder to re-prepare.')
    splits[split] = SplitArrays(np.stack([e['image'] for e in examples]),
                                np.stack([e['label'] for e in examples]).astype(np.int32))
  return splits


def _prepare_folder(builder, root) -> None:
  """Prepares the folder's records once; a prepared copy is used only if it
  was built from a folder listed as `root` is now (`prepared_folder`)."""
  listing = prepared_folder.folder_listing(root)
  prepared_dir = pathlib.Path(str(builder.data_dir))
  if builder.is_prepared():
    prepared_folder.check(prepared_dir, root, listing)
    return
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=str(root)))
  prepared_folder.record(prepared_dir, root, listing)
