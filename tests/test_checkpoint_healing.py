"""Damaged checkpoints are set aside and the run resumes from the newest good
step, ending exactly as an undamaged run (issue 21, case 3)."""

import logging
import shutil
import signal

import pytest

from medadv_jax import atomic_files
from medadv_jax.training import checkpointing, loop, resume
from training_helpers import (MODEL, assert_trees_equal, synthetic_dataset, train_config,
                              without_timing)

# 96 images / batch 16 = 6 steps per epoch; checkpoints at steps 4, 6, 8 and 12, all kept.
CONFIG = dict(checkpoint_every_steps=4, keep_checkpoints=4)


def _train(run_dir):
  return loop.train_model(MODEL, synthetic_dataset(), train_config(2, **CONFIG), 'standard',
                          0, run_dir)


@pytest.fixture(scope='module')
def straight(tmp_path_factory):
  run_dir = tmp_path_factory.mktemp('straight')
  variables, meta = _train(run_dir)
  assert checkpointing.Checkpointer(run_dir / 'checkpoints').all_steps() == [4, 6, 8, 12]
  return run_dir, variables, meta


def _overwrite_arrays(step_dir):
  for path in (step_dir / 'arrays').rglob('*'):
    if path.is_file() and path.parent.name == 'd':
      path.write_bytes(b'overwritten' * 3)


def _truncate_meta(step_dir):
  path = step_dir / 'meta' / 'metadata'
  path.write_bytes(path.read_bytes()[:7])


def _delete_arrays(step_dir):
  shutil.rmtree(step_dir / 'arrays')


def _half_delete(step_dir):
  # What a kill during orbax's removal of a step leaves.
  (step_dir / '_CHECKPOINT_METADATA').unlink()
  shutil.rmtree(step_dir / 'meta')


@pytest.mark.parametrize('damage,resumed_from', [
    ({12: _overwrite_arrays}, 8),
    ({12: _truncate_meta, 8: _delete_arrays}, 6),
    ({12: _half_delete}, 8),
    ({12: _delete_arrays, 8: _truncate_meta, 6: _overwrite_arrays, 4: _half_delete}, 0),
])
def test_damaged_steps_are_set_aside_and_the_run_ends_as_an_undamaged_one(
    straight, tmp_path, caplog, damage, resumed_from):
  straight_dir, straight_variables, straight_meta = straight
  run_dir = tmp_path / 'run'
  shutil.copytree(straight_dir, run_dir)
  for step, damage_step in damage.items():
    damage_step(run_dir / 'checkpoints' / str(step))

  with caplog.at_level(logging.INFO):
    variables, meta = _train(run_dir)

  assert_trees_equal(straight_variables, variables)
  assert without_timing(meta.history) == without_timing(straight_meta.history)
  assert without_timing(atomic_files.read_jsonl(run_dir / 'metrics.jsonl')) == \
      without_timing(atomic_files.read_jsonl(straight_dir / 'metrics.jsonl'))
  # Moved, not deleted; the sequence is whole again.
  damaged = run_dir / checkpointing.DAMAGED_DIR
  assert sorted(int(p.name) for p in damaged.iterdir()) == sorted(damage)
  assert checkpointing.Checkpointer(run_dir / 'checkpoints').all_steps() == [4, 6, 8, 12]
  lines = [r.getMessage() for r in caplog.records if 'does not restore' in r.getMessage()]
  assert len(lines) == len(damage)
  assert lines[-1].endswith('the step before it' if resumed_from else 'scratch')
  assert (f'(step {resumed_from})' in caplog.text) == bool(resumed_from)


class _UnreadableCheckpointer:
  """Steps 4 and 8, whose restore fails with `error`; records what is set aside."""

  def __init__(self, error):
    self.error, self.set_aside_steps = error, []

  def all_steps(self):
    return [4, 8]

  def restore_meta(self, step):
    return {}

  def restore(self, step, template):
    raise self.error

  def set_aside(self, step):
    self.set_aside_steps.append(step)
    return f'damaged/{step}'


@pytest.mark.parametrize('error', [
    PermissionError(13, 'Permission denied'), OSError(5, 'Input/output error'),
    MemoryError(), ValueError('RESOURCE_EXHAUSTED: out of memory while restoring')])
def test_a_step_that_fails_for_another_reason_than_damage_stops_the_run_and_stays(error):
  checkpointer = _UnreadableCheckpointer(error)
  with pytest.raises(type(error)):
    resume.restore_newest_good(checkpointer, {}, lambda meta: None, 'run')
  assert checkpointer.set_aside_steps == []


def test_a_second_ctrl_c_during_clean_up_is_ignored_then_the_handler_returns():
  before = signal.getsignal(signal.SIGINT)
  with loop.sigint_ignored(True):
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
  assert signal.getsignal(signal.SIGINT) is before
  with loop.sigint_ignored(False):
    assert signal.getsignal(signal.SIGINT) is before
