"""SIGKILL in the middle of an epoch, then resume: identical to a run never killed."""

import signal
import subprocess
import sys

from medadv_jax import atomic_files
from medadv_jax.training import checkpointing, loop
from training_helpers import (MODEL, REPO_ROOT, assert_trees_equal, synthetic_dataset,
                              train_config, without_timing)

# 96 images / batch 16 = 6 steps per epoch; checkpoints at steps 4, 6, 8, 12.
CONFIG = dict(checkpoint_every_steps=4, keep_checkpoints=2)
KILL_BEFORE_STEP = 11  # Epoch 2, batch 5 of 6: three steps after the step-8 checkpoint.

# The child process trains and kills itself with SIGKILL (no cleanup, no
# flush) just before step KILL_BEFORE_STEP runs: a deterministic point in the
# middle of an epoch, after metric rows that the checkpoint does not cover.
CHILD = f'''
import os, pathlib, signal, sys
sys.path.insert(0, {str(REPO_ROOT / 'tests')!r})
from medadv_jax.training import loop
from training_helpers import MODEL, synthetic_dataset, train_config

make_train_step = loop.steps.make_train_step

def make_killable_step(*args, **kwargs):
  step = make_train_step(*args, **kwargs)
  calls = [0]
  def killable(*step_args):
    calls[0] += 1
    if calls[0] == {KILL_BEFORE_STEP}:
      os.kill(os.getpid(), signal.SIGKILL)
    return step(*step_args)
  return killable

loop.steps.make_train_step = make_killable_step
loop.train_model(MODEL, synthetic_dataset(), train_config(2, **{CONFIG!r}), 'pgd', 0,
                 pathlib.Path(sys.argv[1]))
'''


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
