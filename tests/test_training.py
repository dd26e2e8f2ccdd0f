"""Training loop: determinism, exact resume, fail-fast on NaN, stopping rules, metrics."""

import numpy as np
import pytest

from medadv_jax import atomic_files
from medadv_jax.training import checkpointing, loop, validation
from training_helpers import (MODEL, assert_trees_equal, leaves, read_events,
                              synthetic_dataset, train_config, without_timing)


@pytest.mark.parametrize('mode', ['standard', 'trades'])
def test_resumed_run_equals_uninterrupted_run(tmp_path, mode):
  straight, straight_meta = loop.train_model(MODEL, synthetic_dataset(), train_config(2),
                                             mode, 0, tmp_path / 'straight')
  loop.train_model(MODEL, synthetic_dataset(), train_config(1), mode, 0, tmp_path / 'resumed')
  resumed, resumed_meta = loop.train_model(MODEL, synthetic_dataset(), train_config(2), mode,
                                           0, tmp_path / 'resumed')
  assert_trees_equal(straight, resumed)
  assert without_timing(straight_meta.history) == without_timing(resumed_meta.history)


def test_same_seed_same_metrics_other_seed_other_numbers(tmp_path):
  runs = [loop.train_model(MODEL, synthetic_dataset(), train_config(1), 'trades', seed,
                           tmp_path / f'run{i}')
          for i, seed in enumerate((0, 0, 1))]
  jsonl = [without_timing(atomic_files.read_jsonl(tmp_path / f'run{i}' / 'metrics.jsonl'))
           for i in range(3)]
  # Rows at steps 2, 4, 6, the epoch row at 6 and the length rule's outcome.
  assert len(jsonl[0]) == 5
  assert {k: v for k, v in jsonl[0][-1].items() if k.startswith('length/')} == {
      'length/min_epochs': 0, 'length/max_epochs': 1, 'length/patience_epochs': 0,
      'length/epochs_run': 1, 'length/best_epoch': 1, 'length/stop_reason': 'epochs'}
  assert jsonl[0] == jsonl[1]
  assert_trees_equal(runs[0][0], runs[1][0])
  assert jsonl[0] != jsonl[2]
  # TensorBoard holds the same numbers as the JSONL file.
  (events,) = read_events(tmp_path / 'run0')
  from_tensorboard = {(e.step, v.tag): v.simple_value for e in events for v in e.summary.value}
  from_jsonl = {(row['step'], tag): np.float32(value)
                for row in atomic_files.read_jsonl(tmp_path / 'run0' / 'metrics.jsonl')
                for tag, value in row.items()
                if tag != 'step' and not isinstance(value, str)}
  assert from_tensorboard == from_jsonl
  assert {'train/loss', 'train/robust_accuracy', 'train/grad_norm', 'train/param_norm',
          'val/accuracy', 'val/robust_accuracy'} <= {tag for _, tag in from_jsonl}
  assert any(not np.array_equal(a, b) for a, b in zip(leaves(runs[0][0]), leaves(runs[2][0])))


def test_nan_stops_with_clear_error_and_keeps_last_good_checkpoint(tmp_path):
  loop.train_model(MODEL, synthetic_dataset(), train_config(1), 'standard', 0, tmp_path)
  with pytest.raises(loop.TrainingDivergedError,
                     match=r'loss.*not finite at step 7 \(epoch 2\).*step 6, end of epoch 1'):
    loop.train_model(MODEL, synthetic_dataset(poison_from=0), train_config(2), 'standard',
                     0, tmp_path)
  assert checkpointing.Checkpointer(tmp_path / 'checkpoints').all_steps() == [6]
  # The kept checkpoint still resumes into a finite run.
  variables, meta = loop.train_model(MODEL, synthetic_dataset(), train_config(2), 'standard',
                                     0, tmp_path)
  assert meta.epoch == 2
  assert all(np.all(np.isfinite(x)) for x in leaves(variables))


def test_nan_mid_epoch_keeps_the_mid_epoch_checkpoint_before_it(tmp_path):
  # One NaN image among 96: the first batch holding it poisons the step.
  config = train_config(2, checkpoint_every_steps=2, keep_checkpoints=3)
  with pytest.raises(loop.TrainingDivergedError, match='not finite at step') as error:
    loop.train_model(MODEL, synthetic_dataset(poison_from=95), config, 'standard', 0,
                     tmp_path)
  bad_step = int(error.value.args[0].split('not finite at step ')[1].split()[0])
  checkpointer = checkpointing.Checkpointer(tmp_path / 'checkpoints')
  kept = checkpointer.all_steps()
  assert kept and max(kept) < bad_step and max(kept) >= bad_step - 2
  rows = atomic_files.read_jsonl(tmp_path / 'metrics.jsonl')
  assert all(np.isfinite(v) for row in rows for v in row.values())


def test_early_stopping_stops_patience_epochs_after_the_best(tmp_path):
  # Validation accuracy of this easy task saturates, so it soon stops improving.
  _, meta = loop.train_model(MODEL, synthetic_dataset(), train_config(
      8, early_stopping_patience=1), 'standard', 0, tmp_path)
  assert meta.stop_reason == 'early_stopping'
  assert meta.epoch == meta.best_epoch + 1 < 8
  assert len(meta.history) == meta.epoch


@pytest.mark.parametrize('mode, stops', [('fgsm_rs', True), ('trades', False)])
def test_catastrophic_overfitting_stops_fgsm_training_at_a_pgd_accuracy_collapse(
    tmp_path, monkeypatch, mode, stops):
  scripted = iter([0.5, 0.6, 0.35, 0.3])  # Falls 0.25 below its best at epoch 3.

  def fake_validator(self, variables, images, labels, key):
    return {'accuracy': 0.9, 'loss': 0.3, 'robust_accuracy': next(scripted),
            'robust_loss': 1.0}

  monkeypatch.setattr(validation.Validator, '__call__', fake_validator)
  _, meta = loop.train_model(MODEL, synthetic_dataset(), train_config(4), mode, 0, tmp_path)
  assert meta.best_epoch == 2 and meta.best_score == 0.6
  if stops:
    assert meta.stop_reason == 'catastrophic_overfitting' and meta.epoch == 3
  else:
    assert meta.stop_reason == 'epochs' and meta.epoch == 4


def test_step_schedule_and_plateau_set_the_learning_rate(tmp_path):
  config = train_config(3, schedule='step', decay_epochs=(1,), decay_factor=0.1,
                        plateau__patience=1, plateau__factor=0.5)
  _, meta = loop.train_model(MODEL, synthetic_dataset(), config, 'standard', 0, tmp_path)
  lr = [h['learning_rate'] for h in meta.history]
  assert lr[0] == pytest.approx(3e-3)
  assert lr[1] == pytest.approx(3e-4)
  # The plateau halves the rate after each epoch whose validation loss did not
  # fall by min_delta.
  val_loss = [h['val_loss'] for h in meta.history]
  expected = 3e-4 * (1.0 if val_loss[1] < val_loss[0] - 1e-4 else 0.5)
  assert lr[2] == pytest.approx(expected)


def test_batch_size_must_split_over_the_devices(tmp_path):
  from medadv_jax.errors import ConfigError
  with pytest.raises(ConfigError, match='multiple of the number of devices'):
    loop.global_batch_size(10, 96, 4)
  assert loop.global_batch_size(64, 30, 4) == 28
