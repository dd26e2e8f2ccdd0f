"""Input pipeline: shuffled global batches, sharded over hosts and devices.

Every process derives the same epoch order from (seed, epoch), cuts it into
global batches and keeps only its own contiguous slice of each batch
(`jax.process_index()` of `jax.process_count()`); the slices are assembled
into one global array split over the mesh's devices. Data that fits in
`device_bytes` is put on the devices once and batches are gathered there
(no host-to-device copy per step); larger data streams from host memory or
any random-access source (e.g. `tfds.data_source`) one batch at a time.
"""

from typing import Iterator, Optional

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec


def epoch_batches(num_examples: int, batch_size: int, seed: int, epoch: int) -> np.ndarray:
  """Global batches of one epoch as indices (num_batches, batch_size).

  A permutation deterministic in (seed, epoch); the last partial batch is
  dropped so every step has the same shape (one compiled program).
  """
  order = np.random.default_rng([seed, epoch]).permutation(num_examples)
  num_batches = num_examples // batch_size
  return order[:num_batches * batch_size].reshape(num_batches, batch_size)


def process_slice(batch_indices: np.ndarray, process_index: int,
                  process_count: int) -> np.ndarray:
  """This process's contiguous share of each global batch (..., batch / count)."""
  batch_size = batch_indices.shape[-1]
  if batch_size % process_count:
    raise ValueError(f'global batch {batch_size} is not a multiple of the '
                     f'{process_count} processes')
  per_process = batch_size // process_count
  return batch_indices[..., process_index * per_process:(process_index + 1) * per_process]


class Batches:
  """Sharded (images, labels) batches of one split for a mesh with one data axis."""

  def __init__(self, images, labels: np.ndarray, mesh: Mesh, *,
               device_bytes: int = 1 << 30, axis: Optional[str] = None):
    self.images, self.labels = images, labels
    self.mesh = mesh
    self.sharding = NamedSharding(mesh, PartitionSpec(axis or mesh.axis_names[0]))
    nbytes = getattr(images, 'nbytes', None)
    # Multi-host: each process holds only its own devices' share, so device
    # residency would need every example on every host; stream instead.
    self.device_resident = (nbytes is not None and nbytes <= device_bytes
                            and jax.process_count() == 1)
    if self.device_resident:
      replicated = NamedSharding(mesh, PartitionSpec())
      self._device_images = jax.device_put(np.asarray(images), replicated)
      self._device_labels = jax.device_put(np.asarray(labels), replicated)
      self._gather = jax.jit(lambda x, y, idx: (x[idx], y[idx]),
                             out_shardings=(self.sharding, self.sharding))

  def epoch(self, batch_size: int, seed: int, epoch: int) -> Iterator[tuple]:
    """Yields (images, labels) global jax arrays, split over the mesh's devices."""
    batches = epoch_batches(len(self.labels), batch_size, seed, epoch)
    for indices in batches:
      if self.device_resident:
        yield self._gather(self._device_images, self._device_labels, jnp.asarray(indices))
        continue
      local = process_slice(indices, jax.process_index(), jax.process_count())
      images = np.stack([np.asarray(self.images[i]) for i in local])
      labels = np.asarray(self.labels)[local]
      yield (jax.make_array_from_process_local_data(
                 self.sharding, images, (batch_size,) + images.shape[1:]),
             jax.make_array_from_process_local_data(
                 self.sharding, labels, (batch_size,) + labels.shape[1:]))
