"""In-memory dataset for one study cell: float images in [0, 1] and int labels."""

import dataclasses
from typing import Optional

import numpy as np

from medadv_jax.data import image_folder, medmnist_catalog, medmnist_source, splits, writable
from medadv_jax.errors import ConfigError, DataError


@dataclasses.dataclass(frozen=True)
class Dataset:
  """Arrays of every split; images float32 (N, H, W, C) in [0, 1].

  Labels are int32 (N,) class indices, or (N, K) 0/1 indicators for a
  multi-label task. `task` is one of medmnist_catalog.TASKS; `split_seed` is
  the seed of the pooled re-split, None for the official split.
  """
  name: str
  task: str
  label_names: tuple[str, ...]
  train_images: np.ndarray
  train_labels: np.ndarray
  val_images: np.ndarray
  val_labels: np.ndarray
  test_images: np.ndarray
  test_labels: np.ndarray
  split_seed: Optional[int] = None

  @property
  def num_classes(self) -> int:
    return len(self.label_names)

  @property
  def image_shape(self) -> tuple[int, int, int]:
    return tuple(self.train_images.shape[1:])

  # What losses, metrics and attacks ask. An ordinal task (RetinaMNIST) is
  # single-label with more than two classes, so it is also multi-class.
  @property
  def is_binary(self) -> bool:
    return self.task == 'binary'

  @property
  def is_multi_class(self) -> bool:
    return self.task in ('multi-class', 'ordinal')

  @property
  def is_multi_label(self) -> bool:
    return self.task == 'multi-label'

  @property
  def is_ordinal(self) -> bool:
    return self.task == 'ordinal'


def dataset_names() -> tuple[str, ...]:
  """Every allowed `data.name`: MedMNIST subsets, then the paper's image folders."""
  return tuple(sorted(medmnist_catalog.CATALOG)) + tuple(image_folder.FOLDER_DATASETS)


def describe(name: str) -> tuple[str, tuple[str, ...]]:
  """(task, label names) of a dataset name; ConfigError for an unknown name."""
  if name in image_folder.FOLDER_DATASETS:
    spec = image_folder.FOLDER_DATASETS[name]
    return spec.task, spec.label_names
  if name in medmnist_catalog.CATALOG:
    info = medmnist_catalog.CATALOG[name]
    return info.task, info.label_names
  raise ConfigError('data.name', name, ', '.join(dataset_names()))


def split_seed(data_config, seed: int) -> Optional[int]:
  """The re-split seed a cell of `seed` uses; None when the split is official."""
  return seed if data_config.split == 'pooled' else None


def load_dataset(data_config, seed: int = 0,
                 raw_splits: Optional[dict[str, splits.SplitArrays]] = None) -> Dataset:
  """Loads the dataset `data_config` (config.data) names, split for `seed`.

  `data.split='official'` keeps the source's splits (seed unused);
  'pooled' re-splits the pooled images by `data.split_fractions` with `seed`.
  `raw_splits` (from `load_raw_splits`) skips reading and decoding the source
  again, e.g. for the next seed of a pooled study; they are not modified.
  """
  task, label_names = describe(data_config.name)
  raw = load_raw_splits(data_config) if raw_splits is None else raw_splits
  protocol = data_config.get('split', 'official')
  missing = [name for name in splits.SPLITS if raw[name].labels.shape[0] == 0]
  if protocol == 'pooled':
    raw = splits.pooled_resplit(raw, tuple(data_config.split_fractions), seed)
  elif protocol != 'official':
    raise ConfigError('data.split', protocol, ', '.join(splits.PROTOCOLS))
  elif missing:
    raise DataError(
        f'{data_config.dir} has no images for the split(s) {missing}, so it has no '
        'official split: use --config.data.split=pooled (the paper\'s protocol: every '
        'image re-split by data.split_fractions), or sort the images into train/, val/ '
        'and test/ folders.')
  train = raw['train']
  if data_config.train_limit:
    train = splits.SplitArrays(train.images[:data_config.train_limit],
                               train.labels[:data_config.train_limit])
  to_float = lambda images: images.astype(np.float32) / 255.0
  return Dataset(
      name=data_config.name, task=task, label_names=label_names,
      train_images=to_float(train.images), train_labels=train.labels,
      val_images=to_float(raw['val'].images), val_labels=raw['val'].labels,
      test_images=to_float(raw['test'].images), test_labels=raw['test'].labels,
      split_seed=seed if protocol == 'pooled' else None)


def load_raw_splits(data_config) -> dict[str, splits.SplitArrays]:
  """uint8 splits ('train', 'val', 'test') from an image folder, an official
  MedMNIST file or the tfds builders, as the source splits them; grey images
  stacked to 3 channels when `data_config.grey_to_rgb` is set."""
  raw = _read_source(data_config)
  if not data_config.get('grey_to_rgb', False):
    return raw
  return {name: splits.SplitArrays(np.repeat(split.images, 3, axis=-1)
                                   if split.images.shape[-1] == 1 else split.images,
                                   split.labels) for name, split in raw.items()}


def _read_source(data_config) -> dict[str, splits.SplitArrays]:
  if data_config.get('tfds_dir', ''):
    writable.check_folder(data_config.tfds_dir, '--config.data.tfds_dir',
                          'the prepared tfds records')
    from medadv_jax.data import tfds_source  # Optional dependency: import on use.
    return tfds_source.load_tfds_splits(data_config)
  if data_config.name in image_folder.FOLDER_DATASETS:
    return image_folder.load_folder(
        image_folder.FOLDER_DATASETS[data_config.name], data_config.dir, data_config.size)
  info = medmnist_source.subset_info(data_config.name)
  path = medmnist_source.locate_file(
      data_config.name, data_config.size, data_config.dir, data_config.cache_dir,
      data_config.download)
  if data_config.verify_md5:
    medmnist_source.verify_md5(path, info.md5_by_size[data_config.size])
  return medmnist_source.load_splits(path, info.num_classes, info.channels,
                                     multi_label=info.task == 'multi-label')


def attack_subset(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
  """Indices of `per_class` random examples of each class (all of a smaller class).

  Multi-label labels (N, L): `per_class` examples positive for each label, then
  `per_class` with no positive label, drawn label by label among the examples
  not yet chosen (an image with two findings is picked once).
  `per_class=0` selects every example. Deterministic in `seed`; indices are
  returned sorted so batches keep the split's order.
  """
  if per_class == 0:
    return np.arange(labels.shape[0])
  if labels.ndim == 2:
    positive = labels > 0
    groups = [np.flatnonzero(positive[:, k]) for k in range(labels.shape[1])]
    groups.append(np.flatnonzero(~positive.any(axis=1)))
  else:
    groups = [np.flatnonzero(labels == cls) for cls in np.unique(labels)]
  rng = np.random.default_rng(seed)
  taken = np.zeros(labels.shape[0], bool)
  for members in groups:
    members = members[~taken[members]]
    taken[rng.choice(members, size=min(per_class, members.size), replace=False)] = True
  return np.flatnonzero(taken)
