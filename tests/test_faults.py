"""A full disk and Ctrl-C: one line, a clear exit status, no temporary files left
(issue 21, cases 4 and 6)."""

import errno
import signal
import subprocess
import sys
import threading
import time

import pytest

from medadv_jax.errors import DiskFullError
from medadv_jax.study import exits
from medadv_jax.training import checkpointing, loop
import terminal_python
from training_helpers import MODEL, REPO_ROOT, synthetic_dataset, train_config

# main.py with every Path.write_text failing as on a full disk.
FULL_DISK_MAIN = '''
import errno, pathlib, runpy, sys
def full(self, *args, **kwargs):
  raise OSError(errno.ENOSPC, 'No space left on device', str(self))
pathlib.Path.write_text = full
sys.argv = ['main.py'] + sys.argv[1:]
runpy.run_path('main.py', run_name='__main__')
'''


def test_full_disk_is_one_line_naming_the_file_and_leaves_no_temporary(tmp_path):
  workdir = tmp_path / 'study'
  result = subprocess.run(
      [sys.executable, '-c', FULL_DISK_MAIN, '--config=configs/default.py:smoke',
       f'--workdir={workdir}'], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
  assert result.returncode == 1, result.stderr[-3000:]
  assert f'error: no space left on device writing {workdir / "config.json"}' in result.stderr
  assert 'Traceback' not in result.stderr
  assert not [p for p in workdir.rglob('*') if '.tmp' in p.name]


def test_a_checkpoint_save_on_a_full_disk_raises_disk_full(tmp_path, monkeypatch):
  checkpointer = checkpointing.Checkpointer(tmp_path)

  def full(*args, **kwargs):
    raise ValueError('Error writing "arrays/d/0": [OS error: No space left on device]')

  monkeypatch.setattr(checkpointer._manager, 'save', full)  # pylint: disable=protected-access
  with pytest.raises(DiskFullError, match=f'no space left on device writing {tmp_path}/4'):
    checkpointer.save(4, {'w': 1.0}, {})
  checkpointer.close()


@pytest.mark.parametrize('stop', [KeyboardInterrupt, lambda: DiskFullError('x')])
def test_an_interrupted_training_run_removes_its_temporary_checkpoint(tmp_path, monkeypatch,
                                                                      stop):
  partial = tmp_path / 'checkpoints' / '8.orbax-checkpoint-tmp-1234'

  def interrupted(self):
    (partial / 'arrays').mkdir(parents=True)
    raise stop()

  monkeypatch.setattr(loop._TrainingRun, 'run', interrupted)  # pylint: disable=protected-access
  with pytest.raises((KeyboardInterrupt, DiskFullError)):
    loop.train_model(MODEL, synthetic_dataset(), train_config(1), 'standard', 0, tmp_path)
  assert not partial.exists() and (tmp_path / 'checkpoints').is_dir()


@pytest.mark.parametrize('stop, status, line', [
    (signal.SIGINT, 130, 'interrupted; run the same command again to resume'),
    # What SLURM's preemption and most schedulers send.
    (signal.SIGTERM, 143, 'terminated (SIGTERM); run the same command again to resume'),
])
def test_ctrl_c_or_sigterm_in_main_exits_saying_how_to_resume(tmp_path, stop, status, line):
  workdir = tmp_path / 'study'
  process = subprocess.Popen(
      [*terminal_python.PYTHON, 'main.py', '--config=configs/default.py:smoke',
       f'--workdir={workdir}'],
      cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
  deadline = time.time() + 120
  while not (workdir / 'config.json').exists() and time.time() < deadline:
    time.sleep(0.05)
  process.send_signal(stop)
  _, stderr = process.communicate(timeout=120)
  assert process.returncode == status, stderr[-3000:]
  assert line in stderr
  assert 'Traceback' not in stderr
  assert not list(workdir.rglob('*.orbax-checkpoint-tmp*'))


def test_a_full_disk_in_a_background_thread_is_one_log_line_not_a_traceback(
    monkeypatch, caplog):
  passed_on = []  # What the hook in force before (Python's: a traceback) is given.
  monkeypatch.setattr(threading, 'excepthook', lambda args: passed_on.append(args.exc_type))

  def run(target):
    thread = threading.Thread(target=target, name='event-writer')
    thread.start()
    thread.join()

  def full_disk():
    raise OSError(errno.ENOSPC, 'No space left on device', '/full/tensorboard/events')

  with exits.one_line_errors():
    run(full_disk)
    run(lambda: 1 / 0)
  assert passed_on == [ZeroDivisionError]  # A bug keeps its traceback; the disk does not.
  assert 'no space left on device writing /full/tensorboard/events' in caplog.text
  run(full_disk)  # The hook is restored on the way out.
  assert passed_on == [ZeroDivisionError, OSError]
