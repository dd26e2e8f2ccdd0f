"""The training-length rule: steps that fit the data, early stopping, the cap."""

import math

import numpy as np
import pytest

from medadv_jax.training import length, loop
from training_helpers import MODEL, default_config, synthetic_dataset, train_config

# Training-set sizes of the official MedMNIST splits (28 px).
PNEUMONIA_TRAIN, BREAST_TRAIN, RETINA_TRAIN = 4708, 546, 1080


def _min_steps(train, n_train):
  spe = n_train // train.batch_size
  return length.plan(train, spe).min_epochs * spe


def test_the_default_gives_a_small_dataset_as_many_steps_as_a_large_one():
  train = default_config().train
  pneumonia, breast, retina = (_min_steps(train, n) for n in
                               (PNEUMONIA_TRAIN, BREAST_TRAIN, RETINA_TRAIN))
  # The fixed 6 epochs it replaces gave BreastMNIST a twelfth of PneumoniaMNIST's steps.
  old_pneumonia = 6 * (PNEUMONIA_TRAIN // train.batch_size)
  assert 6 * (BREAST_TRAIN // train.batch_size) * 9 < old_pneumonia
  for steps, n in ((pneumonia, PNEUMONIA_TRAIN), (breast, BREAST_TRAIN),
                   (retina, RETINA_TRAIN)):
    # At least min_steps, rounded up to whole epochs (less than one epoch more).
    assert train.min_steps <= steps < train.min_steps + n // train.batch_size
    assert steps >= old_pneumonia
  # Whole epochs make the minima differ by less than PneumoniaMNIST's epoch.
  assert abs(breast - pneumonia) < PNEUMONIA_TRAIN // train.batch_size
  # The cap, too, is the same number of steps up to one epoch.
  caps = [length.plan(train, n // train.batch_size).max_epochs * (n // train.batch_size)
          for n in (PNEUMONIA_TRAIN, BREAST_TRAIN)]
  assert all(train.max_steps <= c < train.max_steps + PNEUMONIA_TRAIN // 64 for c in caps)


def test_the_papers_protocol_keeps_a_fixed_number_of_epochs():
  train = train_config(100, early_stopping_patience=0)
  plan = length.plan(train, 7)
  assert (plan.min_epochs, plan.max_epochs, plan.patience_epochs) == (0, 100, 0)
  assert length.stop_reason(plan, 99, 1) is None
  assert length.stop_reason(plan, 100, 1) == 'epochs'


@pytest.mark.parametrize('epoch, best, reason', [
    (3, 1, None),  # Patience spent, but before the minimum.
    (4, 1, 'early_stopping'),
    (4, 3, None),
    (10, 10, 'max_steps'),
])
def test_early_stopping_waits_for_the_minimum_and_the_cap_ends_the_run(epoch, best, reason):
  train = train_config(1, min_steps=20, max_steps=60, patience_steps=12)
  plan = length.plan(train, 6)  # 4 to 10 epochs, patience 2.
  assert (plan.min_epochs, plan.max_epochs, plan.patience_epochs) == (4, 10, 2)
  assert length.stop_reason(plan, epoch, best) == reason


def test_a_step_length_run_stops_early_after_its_minimum(tmp_path):
  # 96 images, batch 16: 6 steps per epoch; at least 4 epochs, patience 1 epoch.
  config = train_config(1, min_steps=20, max_steps=120, patience_steps=6)
  _, meta = loop.train_model(MODEL, synthetic_dataset(), config, 'standard', 0, tmp_path)
  assert meta.stop_reason == 'early_stopping'
  assert 4 <= meta.epoch < 20 and meta.step == 6 * meta.epoch >= 20
  assert meta.epoch == max(4, meta.best_epoch + 1)  # Never before the minimum.


def test_a_step_length_run_without_patience_runs_to_its_cap(tmp_path):
  config = train_config(1, min_steps=10, max_steps=20, patience_steps=0)
  _, meta = loop.train_model(MODEL, synthetic_dataset(), config, 'standard', 0, tmp_path)
  assert (meta.epoch, meta.step, meta.stop_reason) == (math.ceil(20 / 6), 24, 'max_steps')
  assert np.isfinite(meta.best_score)
