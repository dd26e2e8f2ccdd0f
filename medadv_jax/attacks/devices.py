"""Spreads the attack programs' images over every device of the run.

Attacks, certificates and clean predictions treat every image on its own
(BatchNorm in inference mode, one key per image), so a chunk of images split
along its leading axis over the devices gives each image the verdict one
device gives it, while every device works: all GPUs of a host, and on several
hosts joined by `jax.distributed` the devices of every process. Training
already splits its batches this way (`training.parallel`); without this the
attacks, the larger part of a study's cost, would run on one device per process.

Every process holds the whole attacked set and runs the same host-side logic
(which images the cascade attacks next, where bisection goes), so each gets
the verdicts of all devices back (`to_host`) and the processes stay in step.
With one device nothing is placed, so programs and numbers stay exactly those
of a single-device run.
"""

import functools

import jax
import numpy as np
from jax.experimental import multihost_utils

from medadv_jax.training import parallel


def count() -> int:
  """Devices that share each attack chunk."""
  return jax.device_count()


def round_up(size: int) -> int:
  """`size` rounded up to a multiple of `count()`: chunks split evenly."""
  return -(-size // count()) * count()


def split(array: np.ndarray):
  """`array` (the same on every process, its leading axis a multiple of
  `count()`) split along that axis over the devices; as given with one device."""
  if count() == 1:
    return array
  return parallel.shard_batch(np.asarray(array), _mesh())


def replicate(tree):
  """`tree` (e.g. a model's variables) on every device, once per evaluation
  rather than once per chunk; leaves already placed so are kept; as given
  with one device."""
  if count() == 1:
    return tree
  placed = parallel.replicated(_mesh())
  return jax.tree_util.tree_map(
      lambda leaf: leaf if getattr(leaf, 'sharding', None) == placed
      else parallel.replicate(leaf, _mesh()), tree)


def to_host(array) -> np.ndarray:
  """The whole of a program's output, split or not, as NumPy on every process."""
  if getattr(array, 'is_fully_addressable', True):  # NumPy, or all on this process.
    return np.asarray(array)
  return multihost_utils.process_allgather(array, tiled=True)


@functools.cache
def _mesh():
  return parallel.data_mesh()
