"""A tensorflow-datasets builder for the paper's image folders, TF-free.

Same shape as `tfds_medmnist`: tensor features, array_record files, read back
with `tfds.data_source`. The manual directory is the dataset's folder (see
`image_folder`); one config per folder dataset and size, e.g.
'chest_xray_folder_224'. Images are stored as decoded uint8 at that size with
their own channels (grey: 1); stack to 3 channels when reading if needed.
A folder without train/val/test sub-folders yields a single 'train' split.
"""

import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from medadv_jax.data import image_folder, medmnist_catalog

SIZES = medmnist_catalog.SIZES


@dataclasses.dataclass
class FolderConfig(tfds.core.BuilderConfig):
  dataset: str = ''
  size: int = 224


class PaperImageFolders(tfds.core.GeneratorBasedBuilder):
  """Kermany chest X-ray, Kermany OCT2017 and a benign/melanoma dermoscopy folder."""

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'First release.'}
  BUILDER_CONFIGS = [FolderConfig(name=f'{name}_{size}', dataset=name, size=size)
                     for name in image_folder.FOLDER_DATASETS for size in SIZES]
  MANUAL_DOWNLOAD_INSTRUCTIONS = (
      'Pass the dataset folder as manual_dir: ROOT/{train,val,test}/CLASS/*.jpeg '
      '(CLASS: NORMAL, PNEUMONIA for chest X-rays; CNV, DME, DRUSEN, NORMAL for OCT; '
      'benign, melanoma for dermoscopy), or ROOT/CLASS/*.jpeg.')

  def _spec(self) -> image_folder.FolderDataset:
    return image_folder.FOLDER_DATASETS[self.builder_config.dataset]

  def _info(self) -> tfds.core.DatasetInfo:
    spec, size = self._spec(), self.builder_config.size
    channels = 3 if spec.colour else 1
    return self.dataset_info_from_configs(
        description=f'{spec.source}; labels {list(spec.label_names)} ({spec.task}).',
        features=tfds.features.FeaturesDict({
            'image': tfds.features.Tensor(shape=(size, size, channels), dtype=np.uint8),
            'label': tfds.features.Tensor(shape=(), dtype=np.int32),
        }),
        supervised_keys=('image', 'label'),
        disable_shuffling=True,  # Record i is the i-th file in sorted class folders.
    )

  def _split_generators(self, dl_manager):
    splits = image_folder.load_folder(self._spec(), dl_manager.manual_dir,
                                      self.builder_config.size)
    return {name: self._generate_examples(split) for name, split in splits.items()
            if split.labels.size}

  def _generate_examples(self, split):
    for index in range(split.labels.shape[0]):
      yield index, {'image': split.images[index], 'label': split.labels[index]}
