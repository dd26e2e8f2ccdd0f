"""Input pipeline: epoch order, host shards, device-resident and streamed batches."""

import jax
import numpy as np
import pytest
from jax.sharding import Mesh

from medadv_jax.data import pipeline


def test_epoch_batches_are_a_seeded_permutation_without_the_partial_batch():
  batches = pipeline.epoch_batches(23, 5, seed=0, epoch=0)
  assert batches.shape == (4, 5) and len(set(batches.ravel())) == 20
  np.testing.assert_array_equal(batches, pipeline.epoch_batches(23, 5, seed=0, epoch=0))
  assert not np.array_equal(batches, pipeline.epoch_batches(23, 5, seed=0, epoch=1))
  assert not np.array_equal(batches, pipeline.epoch_batches(23, 5, seed=1, epoch=0))


def test_process_slices_partition_every_global_batch():
  batches = pipeline.epoch_batches(40, 8, seed=0, epoch=0)
  shares = [pipeline.process_slice(batches, p, 4) for p in range(4)]
  assert all(s.shape == (5, 2) for s in shares)
  np.testing.assert_array_equal(np.concatenate(shares, axis=1), batches)
  with pytest.raises(ValueError, match='not a multiple of the 3 processes'):
    pipeline.process_slice(batches, 0, 3)


@pytest.mark.parametrize('device_bytes', [1 << 20, 0])  # Resident, then streamed.
def test_batches_hold_the_epochs_examples_on_device_or_streamed(device_bytes):
  images = np.arange(30 * 2 * 2 * 1, dtype=np.float32).reshape(30, 2, 2, 1)
  labels = np.arange(30, dtype=np.int32)
  mesh = Mesh(np.asarray(jax.devices()), ('data',))
  source = pipeline.Batches(images, labels, mesh, device_bytes=device_bytes)
  assert source.device_resident == (device_bytes > 0)
  expected = pipeline.epoch_batches(30, 6, seed=2, epoch=3)
  got = list(source.epoch(6, seed=2, epoch=3))
  assert len(got) == 5
  for (x, y), indices in zip(got, expected):
    np.testing.assert_array_equal(np.asarray(y), indices)  # Label i is example i.
    np.testing.assert_array_equal(np.asarray(x), images[indices])
    assert x.sharding.spec[0] == 'data'
