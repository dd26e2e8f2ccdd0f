"""Training loop: determinism, exact resume at epoch boundaries, fail-fast on NaN."""

import jax
import ml_collections
import numpy as np
import pytest

from medadv_jax import checkpointing
from medadv_jax.data.dataset import Dataset
from medadv_jax.models.cnn import WidthCNN
from medadv_jax.training import loop


def _dataset(seed=0, n=96, poison=False):
  rng = np.random.default_rng(seed)
  labels = (np.arange(n) % 2).astype(np.int32)
  # Class 1 is brighter: learnable in a few steps.
  images = (rng.uniform(0, 0.6, (n, 8, 8, 1)) + 0.3 * labels[:, None, None, None])
  images = images.astype(np.float32)
  if poison:
    images[:] = np.nan
  return Dataset('synthetic', 'binary', ('a', 'b'), images, labels, images[:32],
                 labels[:32], images[:32], labels[:32])


def _train_config(epochs):
  return ml_collections.ConfigDict(dict(
      epochs=epochs, batch_size=16, learning_rate=3e-3, l2_coeff=1e-4,
      eval_batch_size=64,
      adv=dict(eps_255=4.0, steps=2, step_size_frac=0.5, bn_mode='batch')))


MODEL = WidthCNN(num_classes=2, width=0.25)


def _leaves(tree):
  return [np.asarray(x) for x in jax.tree_util.tree_leaves(tree)]


@pytest.mark.parametrize('mode', ['standard', 'pgd'])
def test_resumed_run_equals_uninterrupted_run(tmp_path, mode):
  straight, straight_meta = loop.train_model(MODEL, _dataset(), _train_config(2), mode, 0,
                                             tmp_path / 'straight')
  loop.train_model(MODEL, _dataset(), _train_config(1), mode, 0, tmp_path / 'resumed')
  resumed, resumed_meta = loop.train_model(MODEL, _dataset(), _train_config(2), mode, 0,
                                           tmp_path / 'resumed')
  for a, b in zip(_leaves(straight), _leaves(resumed)):
    np.testing.assert_array_equal(a, b)
  assert [h['loss'] for h in straight_meta['history']] == [
      h['loss'] for h in resumed_meta['history']]


def test_same_seed_same_numbers_other_seed_other_numbers(tmp_path):
  runs = [loop.train_model(MODEL, _dataset(), _train_config(1), 'standard', seed,
                           tmp_path / f'run{i}')[0]
          for i, seed in enumerate((0, 0, 1))]
  for a, b in zip(_leaves(runs[0]), _leaves(runs[1])):
    np.testing.assert_array_equal(a, b)
  assert any(not np.array_equal(a, b) for a, b in zip(_leaves(runs[0]), _leaves(runs[2])))


def test_nan_stops_with_clear_error_and_keeps_last_good_checkpoint(tmp_path):
  loop.train_model(MODEL, _dataset(), _train_config(1), 'standard', 0, tmp_path)
  with pytest.raises(loop.TrainingDivergedError, match=r'not finite in epoch 2.*epoch 1'):
    loop.train_model(MODEL, _dataset(poison=True), _train_config(2), 'standard', 0, tmp_path)
  assert checkpointing.Checkpointer(tmp_path / 'checkpoints').latest_step() == 1
  # The kept checkpoint still resumes into a finite run.
  variables, meta = loop.train_model(MODEL, _dataset(), _train_config(2), 'standard', 0,
                                     tmp_path)
  assert meta['epoch'] == 2
  assert all(np.all(np.isfinite(x)) for x in _leaves(variables))
