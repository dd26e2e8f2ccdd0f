"""Devices and sharding: one mesh axis over every device, batches split along it.

Training steps and attack programs are written for the whole (global) batch;
`jax.jit` partitions them from the input shardings and inserts the
cross-device reductions (gradient means, BatchNorm batch statistics). A run
on D devices therefore computes the same function as on one device, up to the
order of float additions. Attacks, certificates and clean predictions treat
every image on its own (BatchNorm in inference mode, one key per image), so a
chunk split over the devices gives each image the verdict one device gives it.

Works unchanged on several hosts after `jax.distributed.initialize()`: every
process derives the same global arrays (batch order depends only on the seed;
every process holds the whole attacked set and runs the same host-side logic)
and places only the shards its own devices hold; `to_host` gathers outputs
back to every process, so the processes stay in step.
"""

import functools
from typing import Optional, Sequence

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec

DATA_AXIS = 'data'


def data_mesh(devices: Optional[Sequence[jax.Device]] = None) -> Mesh:
  """A 1-D mesh over `devices` (default: every device of every process)."""
  devices = jax.devices() if devices is None else devices
  return Mesh(np.asarray(devices), (DATA_AXIS,))


@functools.cache
def run_mesh() -> Mesh:
  """The mesh over every device of the run, made once."""
  return data_mesh()


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, PartitionSpec())


def batch_sharded(mesh: Mesh) -> NamedSharding:
  """Leading (example) axis split over the devices; other axes whole."""
  return NamedSharding(mesh, PartitionSpec(DATA_AXIS))


def replicate(tree, mesh: Optional[Mesh] = None):
  """Every leaf of `tree` (the same on every process) copied to every device of
  `mesh`. Without a mesh: on every device of the run (`run_mesh`), keeping
  leaves already placed so (variables are placed once per evaluation, not once
  per attack chunk), and `tree` as given with one device."""
  if mesh is None:
    if count() == 1:
      return tree
    placed = replicated(run_mesh())
    return jax.tree_util.tree_map(
        lambda leaf: leaf if getattr(leaf, 'sharding', None) == placed
        else replicate(leaf, run_mesh()), tree)
  sharding = replicated(mesh)

  def put(leaf):
    if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
      return jax.random.wrap_key_data(put(jax.random.key_data(leaf)),
                                      impl=jax.random.key_impl(leaf))
    # Through the host: on several hosts a local array cannot go straight to
    # devices it cannot address.
    host = np.asarray(leaf)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])

  return jax.tree_util.tree_map(put, tree)


def shard_leading(tree, mesh: Mesh):
  """Every leaf of `tree` (host or device arrays, PRNG keys too, the same on
  every process), its leading axis a multiple of `mesh.size`, split over the
  mesh along that axis: a cell group's seed axis (`training.group_loop`)."""
  def put(leaf):
    if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
      return jax.random.wrap_key_data(put(jax.random.key_data(leaf)),
                                      impl=jax.random.key_impl(leaf))
    return shard_batch(np.asarray(leaf), mesh)

  return jax.tree_util.tree_map(put, tree)


def shard_batch(array: np.ndarray, mesh: Mesh) -> jax.Array:
  """A host array whose leading axis is a multiple of `mesh.size`, split over it.

  Every process holds the whole array; each copies only its devices' slices.
  """
  return jax.make_array_from_callback(array.shape, batch_sharded(mesh),
                                      lambda index: array[index])


def to_host(tree):
  """NumPy copy of every leaf of `tree`, whole on every process: split or
  replicated, and on several hosts gathered from the other processes."""
  return jax.tree_util.tree_map(_leaf_to_host, tree)


def _leaf_to_host(array) -> np.ndarray:
  if getattr(array, 'is_fully_addressable', True):  # NumPy, or all on this process.
    return np.asarray(array)
  return multihost_utils.process_allgather(array, tiled=True)


def count() -> int:
  """Devices that share each attack chunk."""
  return jax.device_count()


def round_up(size: int) -> int:
  """`size` rounded up to a multiple of `count()`: chunks split evenly."""
  return -(-size // count()) * count()


def split(array: np.ndarray):
  """`array` (the same on every process, its leading axis a multiple of
  `count()`) split along that axis over the run's devices; as given with one device."""
  if count() == 1:
    return array
  return shard_batch(np.asarray(array), run_mesh())

