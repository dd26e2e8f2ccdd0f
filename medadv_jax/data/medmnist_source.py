"""Finds, downloads, verifies and loads one official MedMNIST npz file.

Where a file is looked for, in order: `data.dir` from the config, the
environment variable MEDMNIST_DIR, then the download cache (`data.cache_dir`),
downloading into it when `data.download` is true and the machine is online.
"""

import hashlib
import os
import pathlib
import tempfile
import urllib.request
import zipfile

import numpy as np

from medadv_jax.data import medmnist_catalog
from medadv_jax.data.splits import SPLITS, SplitArrays
from medadv_jax.errors import ConfigError, DataError


def subset_info(name: str) -> medmnist_catalog.MedMNISTSubset:
  if name not in medmnist_catalog.CATALOG:
    raise ConfigError('data.name', name, ', '.join(sorted(medmnist_catalog.CATALOG)))
  return medmnist_catalog.CATALOG[name]


def locate_file(name: str, size: int, data_dir: str, cache_dir: str,
                download: bool) -> pathlib.Path:
  """Returns the path of the official file, downloading it if allowed."""
  info = subset_info(name)
  if size not in info.md5_by_size:
    raise ConfigError('data.size', size, f'{sorted(info.md5_by_size)} for {name}')
  file_name = info.file_name(size)
  check_data_dir(data_dir, file_name)
  search_dirs = [(d, origin) for d, origin in (
      (data_dir, 'config field data.dir'),
      (os.environ.get('MEDMNIST_DIR', ''), 'environment variable MEDMNIST_DIR'),
      (os.path.expanduser(cache_dir), 'download cache data.cache_dir')) if d]
  for directory, _ in search_dirs:
    candidate = pathlib.Path(directory) / file_name
    if candidate.is_file():
      return candidate
  if download:
    try:
      return _download(info.url(size), pathlib.Path(os.path.expanduser(cache_dir)),
                       file_name, info.md5_by_size[size])
    except OSError as e:  # No network, DNS failure, HTTP error, disk full.
      download_note = f'the download from {info.url(size)} failed ({e})'
  else:
    download_note = 'downloading is off (data.download=False)'
  looked = '; '.join(f'{d} ({origin})' for d, origin in search_dirs) or 'nowhere'
  raise DataError(
      f'MedMNIST file {file_name} not found. Looked in: {looked}; {download_note}. '
      f'Put the official file ({info.url(size)}) in a folder and pass '
      '--config.data.dir=FOLDER or set MEDMNIST_DIR=FOLDER.')


def check_data_dir(data_dir: str, file_name: str) -> None:
  """Raises ConfigError if `data.dir` is set but names no folder: looking on in
  MEDMNIST_DIR would silently read a file from somewhere else."""
  if data_dir and not pathlib.Path(os.path.expanduser(data_dir)).is_dir():
    raise ConfigError('data.dir', data_dir,
                      f'an existing folder (holding {file_name}), or empty to look in '
                      '$MEDMNIST_DIR and data.cache_dir')


def file_md5(path: pathlib.Path) -> str:
  digest = hashlib.md5()
  with open(path, 'rb') as f:
    for block in iter(lambda: f.read(1 << 20), b''):
      digest.update(block)
  return digest.hexdigest()


def verify_md5(path: pathlib.Path, expected: str) -> None:
  found = file_md5(path)
  if found != expected:
    raise DataError(
        f'{path} has MD5 {found}, but the official file has {expected}: the file is '
        'corrupt, truncated or not the official one. Replace it with the official '
        'download, or set --config.data.verify_md5=False for a deliberately '
        'modified file.')


def _download(url: str, cache_dir: pathlib.Path, file_name: str,
              md5: str) -> pathlib.Path:
  cache_dir.mkdir(parents=True, exist_ok=True)
  target = cache_dir / file_name
  # Download next to the target and rename only once verified, so an
  # interrupted or corrupt download never sits where a good file is expected.
  with tempfile.NamedTemporaryFile(dir=cache_dir, suffix='.part', delete=False) as tmp:
    tmp_path = pathlib.Path(tmp.name)
  try:
    urllib.request.urlretrieve(url, tmp_path)
    verify_md5(tmp_path, md5)
    os.replace(tmp_path, target)
  finally:
    tmp_path.unlink(missing_ok=True)
  return target


def load_splits(path: pathlib.Path, num_classes: int, channels: int,
                multi_label: bool = False) -> dict[str, SplitArrays]:
  """Reads and validates the six arrays of an official MedMNIST npz file.

  Labels come back int32 (N,), or (N, num_classes) multi-hot when `multi_label`.
  """
  try:
    with np.load(path, allow_pickle=False) as npz:
      raw = {key: npz[key] for key in npz.files}
  except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
    raise DataError(
        f'{path} is not a readable npz file ({type(e).__name__}: {e}). It is corrupt '
        'or truncated: replace it with the official MedMNIST file.') from e
  expected = [f'{split}_{kind}' for split in SPLITS for kind in ('images', 'labels')]
  missing = [key for key in expected if key not in raw]
  if missing:
    raise DataError(f'{path} lacks the arrays {missing}; an official MedMNIST file '
                    f'holds {expected} (it has {sorted(raw)}).')
  splits = {split: _validated_split(path, split, raw[f'{split}_images'],
                                    raw[f'{split}_labels'], num_classes, channels,
                                    multi_label)
            for split in SPLITS}
  shapes = {split: splits[split].images.shape[1:] for split in SPLITS}
  if len(set(shapes.values())) > 1:
    raise DataError(f'{path}: the splits hold images of different shapes {shapes}; '
                    'every split of one file must share (H, W, C).')
  return splits


def _validated_split(path, split, images, labels, num_classes, channels,
                     multi_label) -> SplitArrays:
  if images.dtype != np.uint8:
    raise DataError(f'{path}: {split}_images has dtype {images.dtype}; expected uint8.')
  if images.ndim == 3:
    images = images[..., None]
  if images.ndim != 4 or images.shape[-1] != channels:
    raise DataError(f'{path}: {split}_images has shape {images.shape}; expected '
                    f'(N, H, W) or (N, H, W, {channels}).')
  labels = np.asarray(labels)
  if not np.issubdtype(labels.dtype, np.integer):
    raise DataError(f'{path}: {split}_labels has dtype {labels.dtype}; expected integer '
                    'class indices (uint8 in the official files).')
  if multi_label:
    return SplitArrays(images, _validated_multi_hot(path, split, labels, images.shape[0],
                                                    num_classes))
  if labels.ndim == 2 and labels.shape[1] == 1:
    labels = labels[:, 0]
  if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
    raise DataError(f'{path}: {split}_labels has shape {labels.shape}; expected '
                    f'({images.shape[0]}, 1), one label per image.')
  if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
    raise DataError(f'{path}: {split}_labels hold values in [{labels.min()}, '
                    f'{labels.max()}]; expected integers in [0, {num_classes - 1}].')
  return SplitArrays(images=images, labels=labels.astype(np.int32))


def _validated_multi_hot(path, split, labels, count, num_classes) -> np.ndarray:
  if labels.shape != (count, num_classes):
    raise DataError(f'{path}: {split}_labels has shape {labels.shape}; a multi-label '
                    f'subset needs ({count}, {num_classes}), one 0/1 column per label.')
  if labels.size and not np.isin(labels, (0, 1)).all():
    raise DataError(f'{path}: {split}_labels hold values other than 0 and 1; a '
                    'multi-label subset needs 0/1 indicators.')
  return labels.astype(np.int32)
