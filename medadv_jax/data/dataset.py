"""In-memory dataset for one study cell: float images in [0, 1] and int labels."""

import dataclasses

import numpy as np

from medadv_jax.data import medmnist_source


@dataclasses.dataclass(frozen=True)
class Dataset:
  """Arrays of every split; images float32 (N, H, W, C) in [0, 1], labels int32 (N,)."""
  name: str
  task: str
  label_names: tuple[str, ...]
  train_images: np.ndarray
  train_labels: np.ndarray
  val_images: np.ndarray
  val_labels: np.ndarray
  test_images: np.ndarray
  test_labels: np.ndarray

  @property
  def num_classes(self) -> int:
    return len(self.label_names)

  @property
  def image_shape(self) -> tuple[int, int, int]:
    return tuple(self.train_images.shape[1:])


def load_dataset(data_config) -> Dataset:
  """Loads the MedMNIST subset that `data_config` (config.data) names."""
  info = medmnist_source.subset_info(data_config.name)
  path = medmnist_source.locate_file(
      data_config.name, data_config.size, data_config.dir, data_config.cache_dir,
      data_config.download)
  if data_config.verify_md5:
    medmnist_source.verify_md5(path, info.md5_by_size[data_config.size])
  splits = medmnist_source.load_splits(path, info.num_classes, info.channels)
  train = splits['train']
  if data_config.train_limit:
    train = medmnist_source.SplitArrays(train.images[:data_config.train_limit],
                                        train.labels[:data_config.train_limit])
  to_float = lambda images: images.astype(np.float32) / 255.0
  return Dataset(
      name=data_config.name, task=info.task, label_names=info.label_names,
      train_images=to_float(train.images), train_labels=train.labels,
      val_images=to_float(splits['val'].images), val_labels=splits['val'].labels,
      test_images=to_float(splits['test'].images), test_labels=splits['test'].labels)


def attack_subset(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
  """Indices of `per_class` random examples of each class (all of a smaller class).

  `per_class=0` selects every example. Deterministic in `seed`; indices are
  returned sorted so batches keep the split's order.
  """
  if per_class == 0:
    return np.arange(labels.shape[0])
  rng = np.random.default_rng(seed)
  chosen = []
  for cls in np.unique(labels):
    members = np.flatnonzero(labels == cls)
    chosen.append(rng.choice(members, size=min(per_class, members.size), replace=False))
  return np.sort(np.concatenate(chosen))
