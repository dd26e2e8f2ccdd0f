"""A tensorflow-datasets builder for every MedMNIST 2D subset and size, TF-free.

Features are plain tensors and the records are array_record files, so the
prepared data is read back with `tfds.data_source` (random access, NumPy out)
without TensorFlow. One builder config per subset and size, named
'<subset>_<size>', e.g. 'breastmnist_64':

  builder = tfds_medmnist.MedmnistOfficial(config='breastmnist_64', data_dir=DIR,
                                           file_format='array_record')
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=FOLDER_WITH_OFFICIAL_NPZ))   # or no manual_dir: the official URL.
  test = tfds.data_source('medmnist_official/breastmnist_64', split='test', data_dir=DIR)

Importing this module registers the builder under 'medmnist_official'; the
rest of the project never imports it, so tfds stays an optional dependency.
"""

import dataclasses
import pathlib

import numpy as np
import tensorflow_datasets as tfds

from medadv_jax.data import medmnist_catalog, medmnist_source
from medadv_jax.data.splits import SPLITS


@dataclasses.dataclass
class MedmnistConfig(tfds.core.BuilderConfig):
  subset: str = ''
  size: int = 28


def _configs():
  return [MedmnistConfig(name=f'{subset}_{size}', subset=subset, size=size,
                         description=f'MedMNIST {subset} at {size}x{size}')
          for subset in sorted(medmnist_catalog.CATALOG) for size in medmnist_catalog.SIZES]


class MedmnistOfficial(tfds.core.GeneratorBasedBuilder):
  """The official MedMNIST v3 npz files as tensor features; the MD5 is checked."""

  VERSION = tfds.core.Version('3.0.0')
  RELEASE_NOTES = {'3.0.0': 'MedMNIST v3 (Zenodo record 10519652).'}
  BUILDER_CONFIGS = _configs()
  MANUAL_DOWNLOAD_INSTRUCTIONS = (
      'Optional: put the official MedMNIST npz files (e.g. breastmnist_64.npz) in the '
      'manual directory to prepare without a download.')

  def _info(self) -> tfds.core.DatasetInfo:
    info = medmnist_catalog.CATALOG[self.builder_config.subset]
    size = self.builder_config.size
    multi_label = info.task == 'multi-label'
    label = (tfds.features.Tensor(shape=(info.num_classes,), dtype=np.int32) if multi_label
             else tfds.features.Tensor(shape=(), dtype=np.int32))
    return self.dataset_info_from_configs(
        description=f'{info.name} ({info.task}; labels {list(info.label_names)}; '
                    f'licence {info.licence}).',
        features=tfds.features.FeaturesDict({
            'image': tfds.features.Tensor(shape=(size, size, info.channels), dtype=np.uint8),
            'label': label,
        }),
        supervised_keys=('image', 'label'),
        # Records keep the official order: record i is image i of the npz split.
        disable_shuffling=True,
        homepage='https://medmnist.com/',
        license=info.licence,
    )

  def _split_generators(self, dl_manager):
    info = medmnist_catalog.CATALOG[self.builder_config.subset]
    size = self.builder_config.size
    path = self._official_file(dl_manager, info, size)
    # Our own check, whichever way the file came: a mismatch names both MD5s.
    medmnist_source.verify_md5(path, info.md5_by_size[size])
    splits = medmnist_source.load_splits(path, info.num_classes, info.channels,
                                         multi_label=info.task == 'multi-label')
    return {split: self._generate_examples(splits[split]) for split in SPLITS}

  def _official_file(self, dl_manager, info, size) -> pathlib.Path:
    manual_dir = self._manual_dir_or_none(dl_manager)
    if manual_dir is not None and (manual_dir / info.file_name(size)).is_file():
      return manual_dir / info.file_name(size)
    return pathlib.Path(dl_manager.download(info.url(size)))

  @staticmethod
  def _manual_dir_or_none(dl_manager):
    try:
      return pathlib.Path(dl_manager.manual_dir)
    except AssertionError:  # tfds raises this when no manual_dir was configured.
      return None

  def _generate_examples(self, split):
    for index in range(split.labels.shape[0]):
      yield index, {'image': split.images[index], 'label': split.labels[index]}
