"""SIGKILL in the middle of an epoch, then resume: identical to a run never killed."""

import signal
import subprocess
import sys

import numpy as np

from medadv_jax import atomic_files
from medadv_jax.training import checkpointing, group_loop, loop
from training_helpers import (MODEL, REPO_ROOT, assert_trees_equal, leaves, synthetic_dataset,
                              train_config, without_timing)

# 96 images / batch 16 = 6 steps per epoch; checkpoints at steps 4, 6, 8, 12.
CONFIG = dict(checkpoint_every_steps=4, keep_checkpoints=2)
KILL_BEFORE_STEP = 11  # Epoch 2, batch 5 of 6: three steps after the step-8 checkpoint.

# The child process trains and kills itself with SIGKILL (no cleanup, no
# flush) just before step KILL_BEFORE_STEP runs: a deterministic point in the
# middle of an epoch, after metric rows that the checkpoint does not cover.
def _killing_child(module: str, factory: str, run: str,
                   kill_before: int = KILL_BEFORE_STEP) -> str:
  """A child script whose `module.factory` step kills the process before step
  `kill_before`, then `run`."""
  return f'''
import os, pathlib, signal, sys
sys.path.insert(0, {str(REPO_ROOT / 'tests')!r})
from medadv_jax.training import group_loop, loop
from training_helpers import MODEL, synthetic_dataset, train_config

make_step = {module}.{factory}

def make_killable_step(*args, **kwargs):
  step = make_step(*args, **kwargs)
  calls = [0]
  def killable(*step_args):
    calls[0] += 1
    if calls[0] == {kill_before}:
      os.kill(os.getpid(), signal.SIGKILL)
    return step(*step_args)
  return killable

{module}.{factory} = make_killable_step
root = pathlib.Path(sys.argv[1])
{run}
'''


CHILD = _killing_child('loop.steps', 'make_train_step', f"""loop.train_model(
    MODEL, synthetic_dataset(), train_config(2, **{CONFIG!r}), 'pgd', 0, root)""")


def test_sigkill_mid_epoch_then_resume_equals_uninterrupted_run(tmp_path):
  killed_dir = tmp_path / 'killed'
  child = subprocess.run([sys.executable, '-c', CHILD, str(killed_dir)], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=600)
  assert child.returncode == -signal.SIGKILL, child.stderr[-3000:]
  assert checkpointing.Checkpointer(killed_dir / 'checkpoints').latest_step() == 8
  rows = atomic_files.read_jsonl(killed_dir / 'metrics.jsonl')
  assert max(row['step'] for row in rows) == 10  # Written after the checkpoint.

  resumed, resumed_meta = loop.train_model(MODEL, synthetic_dataset(), train_config(2, **CONFIG),
                                           'pgd', 0, killed_dir)
  straight, straight_meta = loop.train_model(MODEL, synthetic_dataset(),
                                             train_config(2, **CONFIG), 'pgd', 0,
                                             tmp_path / 'straight')
  assert_trees_equal(straight, resumed)
  assert without_timing(straight_meta.history) == without_timing(resumed_meta.history)
  straight_rows = atomic_files.read_jsonl(tmp_path / 'straight' / 'metrics.jsonl')
  resumed_rows = atomic_files.read_jsonl(killed_dir / 'metrics.jsonl')
  # Train rows every 2 steps, an epoch row at 6 and 12, the length row at 12.
  assert [r['step'] for r in resumed_rows] == [2, 4, 6, 6, 8, 10, 12, 12, 12]
  assert without_timing(resumed_rows) == without_timing(straight_rows)
  assert checkpointing.Checkpointer(killed_dir / 'checkpoints').all_steps() == [8, 12]


# Epoch-end checkpoints at least 12 steps apart over 3 epochs of 6 steps: the
# end of epoch 1 (step 6) is not saved, step 12 is, and the last epoch always.
SPARSE = dict(checkpoint_min_steps=12, keep_checkpoints=3)
SPARSE_CHILD = _killing_child('loop.steps', 'make_train_step', f"""loop.train_model(
    MODEL, synthetic_dataset(), train_config(3, **{SPARSE!r}), 'standard', 0, root)""",
                              kill_before=17)


def test_sparse_epoch_checkpoints_resume_to_the_uninterrupted_numbers(tmp_path):
  killed_dir = tmp_path / 'killed'
  child = subprocess.run([sys.executable, '-c', SPARSE_CHILD, str(killed_dir)], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=600)
  assert child.returncode == -signal.SIGKILL, child.stderr[-3000:]
  assert checkpointing.Checkpointer(killed_dir / 'checkpoints').all_steps() == [12]
  resumed, resumed_meta = loop.train_model(MODEL, synthetic_dataset(),
                                           train_config(3, **SPARSE), 'standard', 0, killed_dir)
  straight, straight_meta = loop.train_model(MODEL, synthetic_dataset(),
                                             train_config(3, **SPARSE), 'standard', 0,
                                             tmp_path / 'straight')
  assert_trees_equal(straight, resumed)
  assert without_timing(straight_meta.history) == without_timing(resumed_meta.history)
  # Saving at every epoch end instead trains the same weights: saves change no number.
  every, _ = loop.train_model(MODEL, synthetic_dataset(),
                              train_config(3, **dict(SPARSE, checkpoint_min_steps=0)),
                              'standard', 0, tmp_path / 'every')
  assert_trees_equal(straight, every)
  assert without_timing(atomic_files.read_jsonl(killed_dir / 'metrics.jsonl')) == \
      without_timing(atomic_files.read_jsonl(tmp_path / 'straight' / 'metrics.jsonl'))
  for run in (killed_dir, tmp_path / 'straight'):
    assert checkpointing.Checkpointer(run / 'checkpoints').all_steps() == [12, 18]


# The same for a cell group: seeds (0, 1) as one program, killed before step
# KILL_BEFORE_STEP; one group checkpoint holds both seeds at step 8.
GROUP_CHILD = _killing_child('group_loop.group_steps', 'make_group_train_step', f"""
members = [group_loop.Member(s, synthetic_dataset(), root / f'cell{{s}}') for s in (0, 1)]
group_loop.train_group(MODEL, members, train_config(2, **{CONFIG!r}), 'standard',
                       root / 'group')""")


def _group_run(root):
  members = [group_loop.Member(s, synthetic_dataset(), root / f'cell{s}') for s in (0, 1)]
  return group_loop.train_group(MODEL, members, train_config(2, **CONFIG), 'standard',
                                root / 'group')


def test_sigkill_mid_epoch_then_resume_a_group_equals_uninterrupted_run(tmp_path):
  killed = tmp_path / 'killed'
  child = subprocess.run([sys.executable, '-c', GROUP_CHILD, str(killed)], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=600)
  assert child.returncode == -signal.SIGKILL, child.stderr[-3000:]
  assert checkpointing.Checkpointer(killed / 'group' / 'checkpoints').latest_step() == 8
  assert max(r['step'] for r in atomic_files.read_jsonl(killed / 'cell1' / 'metrics.jsonl')) == 10

  resumed, straight = _group_run(killed), _group_run(tmp_path / 'straight')
  for seed, ((a, meta_a), (b, meta_b)) in enumerate(zip(resumed, straight)):
    assert_trees_equal(a, b)
    assert without_timing(meta_a.history) == without_timing(meta_b.history)
    assert (meta_a.step, meta_a.stop_reason) == (meta_b.step, meta_b.stop_reason) == (12, 'epochs')
    rows = [atomic_files.read_jsonl(root / f'cell{seed}' / 'metrics.jsonl')
            for root in (killed, tmp_path / 'straight')]
    assert [r['step'] for r in rows[0]] == [2, 4, 6, 6, 8, 10, 12, 12, 12]
    assert without_timing(rows[0]) == without_timing(rows[1])
  # The seeds differ: each its own init, order and keys.
  assert not np.array_equal(leaves(resumed[0][0])[0], leaves(resumed[1][0])[0])


def test_a_group_saves_sparse_epoch_checkpoints_and_its_last(tmp_path):
  members = [group_loop.Member(s, synthetic_dataset(), tmp_path / f'cell{s}') for s in (0, 1)]
  group_loop.train_group(MODEL, members, train_config(3, **SPARSE), 'standard',
                         tmp_path / 'group')
  assert checkpointing.Checkpointer(tmp_path / 'group' / 'checkpoints').all_steps() == [12, 18]
