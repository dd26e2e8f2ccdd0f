"""Spreads the attack programs' images over this process's devices.

Attacks, certificates and clean predictions treat every image on its own
(BatchNorm in inference mode, one key per image), so a chunk of images split
along its leading axis over the local devices gives each image the verdict
one device gives it, while every device of a multi-GPU host works. Training
already splits its batches over all devices (`training.parallel`); without
this the attacks, the larger part of a study's cost, would run on one.

Each process uses only its own devices: on several hosts every process
evaluates the whole attacked set, as it did on its first device, and nothing
crosses hosts. With one local device nothing is placed, so programs and
numbers stay exactly those of a single-device run.
"""

import functools

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

_AXIS = 'images'


def count() -> int:
  """Devices of this process that share each attack chunk."""
  return jax.local_device_count()


def round_up(size: int) -> int:
  """`size` rounded up to a multiple of `count()`: chunks split evenly."""
  return -(-size // count()) * count()


def split(array: np.ndarray):
  """`array` with its leading axis (a multiple of `count()`) split over the
  local devices; as given with one device."""
  if count() == 1:
    return array
  return jax.device_put(array, NamedSharding(_local_mesh(), PartitionSpec(_AXIS)))


def replicate(tree):
  """A copy of `tree` (e.g. a model's variables) on every local device, once per
  evaluation rather than once per chunk; as given with one device."""
  if count() == 1:
    return tree
  return jax.device_put(tree, NamedSharding(_local_mesh(), PartitionSpec()))


@functools.cache
def _local_mesh() -> Mesh:
  return Mesh(np.asarray(jax.local_devices()), (_AXIS,))
