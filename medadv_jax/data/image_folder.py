"""The paper's original datasets, read from folders of images.

Layout (Kermany et al.'s releases): ROOT/{train,val,test}/CLASS/*.jpeg (the
Kaggle copies), ROOT/{train,test}/CLASS/*.jpeg (the Mendeley release has no
val/), or ROOT/CLASS/*.jpeg without split folders. A split without its folder
is empty; only the pooled re-split (the paper's) can then be used. Images are
decoded with Pillow, resized to `size` x `size` (bilinear) and kept as uint8;
grey images get 1 channel (`dataset.load_raw_splits` stacks them to 3 when
`data.grey_to_rgb` is set, for every source alike).
"""

import dataclasses
import pathlib

import numpy as np
from PIL import Image, UnidentifiedImageError

from medadv_jax.data.splits import SPLITS, SplitArrays
from medadv_jax.errors import DataError


@dataclasses.dataclass(frozen=True)
class FolderDataset:
  """A dataset read from class folders; class i is the folder `class_dirs[i]`."""
  name: str
  task: str
  class_dirs: tuple[str, ...]
  label_names: tuple[str, ...]
  colour: bool  # Decoded as RGB (dermoscopy) rather than grey (X-ray, OCT).
  source: str


FOLDER_DATASETS = {spec.name: spec for spec in (
    FolderDataset('chest_xray_folder', 'binary', ('NORMAL', 'PNEUMONIA'),
                  ('normal', 'pneumonia'), colour=False,
                  source='Kermany et al. 2018, ChestXRay2017 (chest_xray/)'),
    FolderDataset('oct_folder', 'multi-class', ('CNV', 'DME', 'DRUSEN', 'NORMAL'),
                  ('choroidal neovascularization', 'diabetic macular edema', 'drusen',
                   'normal'), colour=False, source='Kermany et al. 2018, OCT2017'),
    FolderDataset('dermoscopy_folder', 'binary', ('benign', 'melanoma'),
                  ('benign', 'melanoma'), colour=True,
                  source='dermoscopy images sorted into benign/ and melanoma/'),
)}


def split_folders(root: pathlib.Path) -> list[str]:
  """The splits of SPLITS that have a folder under `root`."""
  return [split for split in SPLITS if (root / split).is_dir()]


def existing_root(spec: FolderDataset, root: str) -> pathlib.Path:
  """`root` as a path; DataError naming the expected layout if it is no folder."""
  # Path('') would be the working directory: an empty data.dir is no folder.
  if not root or not pathlib.Path(root).expanduser().is_dir():
    raise DataError(
        f'image folder {str(root)!r} for {spec.name} does not exist. Point '
        f'--config.data.dir at the folder of {spec.source}, holding '
        f'{{train,val,test}}/{{{",".join(spec.class_dirs)}}}/ image files.')
  return pathlib.Path(root).expanduser()


def load_folder(spec: FolderDataset, root: str, size: int) -> dict[str, SplitArrays]:
  """Decodes every image under `root`; returns uint8 splits of (size, size, C).

  A split without its folder is empty; without any split folder, all images
  land in 'train'.
  """
  root = existing_root(spec, root)
  channels = 3 if spec.colour else 1
  empty = SplitArrays(np.zeros((0, size, size, channels), np.uint8), np.zeros((0,), np.int32))
  present = split_folders(root)
  if not present:
    return {'train': _read_split(spec, root, size), 'val': empty, 'test': empty}
  return {split: _read_split(spec, root / split, size) if split in present else empty
          for split in SPLITS}


def _read_split(spec, directory: pathlib.Path, size) -> SplitArrays:
  images, labels = [], []
  for label, class_dir in enumerate(spec.class_dirs):
    folder = directory / class_dir
    if not folder.is_dir():
      found = sorted(p.name for p in directory.iterdir() if p.is_dir())
      raise DataError(
          f'{folder} is missing: {spec.name} needs one folder per class '
          f'{list(spec.class_dirs)} in {directory} (found {found}).')
    # Hidden files (.DS_Store, ._x) are not images; anything else must decode.
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith('.'))
    if not files:
      raise DataError(f'class folder {folder} holds no images: put the images of class '
                      f'{class_dir!r} there, or remove the dataset split.')
    images += [_decode(path, size, spec.colour) for path in files]
    labels += [label] * len(files)
  return SplitArrays(np.stack(images), np.asarray(labels, np.int32))


def _decode(path: pathlib.Path, size: int, colour: bool) -> np.ndarray:
  """One image as uint8 (size, size, C)."""
  try:
    with Image.open(path) as image:
      image = image.convert('RGB' if colour else 'L')
      image = image.resize((size, size), Image.Resampling.BILINEAR)
      array = np.asarray(image, np.uint8)
  except (UnidentifiedImageError, OSError, ValueError) as e:
    raise DataError(f'cannot read image {path} ({type(e).__name__}: {e}): replace or '
                    'delete the file; every file in a class folder must be an image.') from e
  return array[..., None] if array.ndim == 2 else array
