"""Data parallelism: one mesh axis over every device, the batch split along it.

Steps are written for the whole (global) batch; `jax.jit` partitions them
from the input shardings and inserts the cross-device reductions (gradient
means, BatchNorm batch statistics). A run on D devices therefore computes the
same function as on one device, up to the order of float additions.

Works unchanged on several hosts after `jax.distributed.initialize()`: every
process derives the same global batches (the order depends only on the seed)
and places only the shards its own devices hold.
"""

from typing import Optional, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

DATA_AXIS = 'data'


def data_mesh(devices: Optional[Sequence[jax.Device]] = None) -> Mesh:
  """A 1-D mesh over `devices` (default: every device of every process)."""
  devices = jax.devices() if devices is None else devices
  return Mesh(np.asarray(devices), (DATA_AXIS,))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, PartitionSpec())


def batch_sharded(mesh: Mesh) -> NamedSharding:
  """Leading (example) axis split over the devices; other axes whole."""
  return NamedSharding(mesh, PartitionSpec(DATA_AXIS))


def replicate(tree, mesh: Mesh):
  """Copies every leaf of `tree` (the same on every process) to every device of `mesh`."""
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


def shard_batch(array: np.ndarray, mesh: Mesh) -> jax.Array:
  """A host array whose leading axis is a multiple of `mesh.size`, split over it.

  Every process holds the whole array; each copies only its devices' slices.
  """
  return jax.make_array_from_callback(array.shape, batch_sharded(mesh),
                                      lambda index: array[index])


def to_host(tree):
  """Numpy copy of a pytree of replicated arrays (also on multi-host meshes,
  where only the local shards can be read)."""
  return jax.tree_util.tree_map(lambda a: np.asarray(a.addressable_data(0)), tree)
