"""What a study read from its source: images read, and each split's size and
class counts after the split protocol and `data.train_limit`, for the log and
the report (an image folder states them nowhere else)."""

from medadv_jax.data import image_folder
from medadv_jax.data.dataset import Dataset
from medadv_jax.data.splits import SPLITS


def describe(data_config, raw_splits, dataset: Dataset) -> dict:
  """Plain JSON data: dataset, source, images read (every split of the source)
  and, per split used, its images and {class name: images} (positives per label
  on a multi-label task)."""
  splits, limit = {}, data_config.get('train_limit', 0)
  for name in SPLITS:
    labels = getattr(dataset, f'{name}_labels')
    counts = (labels.sum(axis=0) if labels.ndim == 2 else
              [(labels == k).sum() for k in range(dataset.num_classes)])
    splits[name] = {'images': int(labels.shape[0]),
                    'class_counts': {label: int(c)
                                     for label, c in zip(dataset.label_names, counts)}}
  return {'dataset': dataset.name, 'source': source(data_config),
          'images_read': int(sum(s.labels.shape[0] for s in raw_splits.values())),
          'split': ('official' if dataset.split_seed is None
                    else f'pooled re-split, seed {dataset.split_seed}'),
          # data.train_limit, where it cut the training split.
          'train_limit': int(limit if limit and limit == splits['train']['images'] else 0),
          'splits': splits}


def source(data_config) -> str:
  """Where the images came from, in words."""
  if data_config.get('tfds_dir', ''):
    return f'tfds records in {data_config.tfds_dir}, {data_config.size} px'
  if data_config.name in image_folder.FOLDER_DATASETS:
    return f'image folder {data_config.dir}, resized to {data_config.size} px'
  return f'MedMNIST file, {data_config.size} px'


def line(summary: dict) -> str:
  """One line: 'pneumoniamnist (MedMNIST file, 28 px): 5856 images read; official
  split: train 4708 (normal 1214, pneumonia 3494), val ..., test ...'."""
  splits = ', '.join(
      f'{name} {split["images"]} ('
      + ', '.join(f'{label} {count}' for label, count in split['class_counts'].items()) + ')'
      for name, split in summary['splits'].items())
  limit = (f' (train limited to the first {summary["train_limit"]})'
           if summary.get('train_limit') else '')
  return (f'{summary["dataset"]} ({summary["source"]}): {summary["images_read"]} images '
          f'read; {summary["split"]}{limit}: {splits}')
