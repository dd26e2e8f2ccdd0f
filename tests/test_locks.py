"""One process per study and per cell; a foreign --workdir refused (issue 21,
cases 7 and 8)."""

import json
import logging
import os
import pathlib
import socket
import subprocess
import sys

import pytest

from medadv_jax.study import locks, workdir_checks

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
SMOKE = ['--config=configs/default.py:smoke']
CELL0 = 'pneumoniamnist_cnn_w0.25_standard_s0'


def test_a_held_cell_is_refused_naming_pid_and_host(tmp_path):
  with locks.cell_lock(tmp_path, 'c'):
    with pytest.raises(locks.LockHeldError,
                       match=f'cell c is being run by PID {os.getpid()} on host '
                       f'{socket.gethostname()}'):
      with locks.cell_lock(tmp_path, 'c'):
        pass
    with locks.cell_lock(tmp_path, 'd'), locks.study_lock(tmp_path):
      pass  # Other cells, and the study, are separate locks.
  with locks.cell_lock(tmp_path, 'c'):
    pass  # Released.


def test_the_lock_of_a_dead_process_is_taken_over_and_logged(tmp_path, caplog):
  dead = subprocess.Popen([sys.executable, '-c', 'pass'])
  dead.wait()
  path = tmp_path / locks.LOCK_DIR / f'{CELL0}.lock'
  path.parent.mkdir()
  path.write_text(json.dumps({'pid': dead.pid, 'host': socket.gethostname(),
                              'since': '2026-01-01T00:00:00+00:00'}))
  with caplog.at_level(logging.INFO):
    with locks.cell_lock(tmp_path, CELL0):
      assert json.loads(path.read_text())['pid'] == os.getpid()
  assert f'PID {dead.pid} on host {socket.gethostname()}' in caplog.text
  assert 'no longer running' in caplog.text
  assert path.read_text() == ''  # Released cleanly: nothing to take over next time.


def test_a_lock_held_by_another_process_is_refused(tmp_path):
  holder = subprocess.Popen(
      [sys.executable, '-c', 'import sys, time; from medadv_jax.study import locks\n'
       f'with locks.study_lock({str(tmp_path)!r}):\n  print("held", flush=True)\n'
       '  time.sleep(60)'], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
  try:
    assert holder.stdout.readline().strip() == 'held'
    with pytest.raises(locks.LockHeldError, match=f'PID {holder.pid} on host'):
      with locks.study_lock(tmp_path):
        pass
  finally:
    holder.kill()
    holder.wait()
  with locks.study_lock(tmp_path):
    pass  # The kernel released the killed holder's lock.


@pytest.mark.parametrize('entries,ok', [
    ((), True), (('config.json', 'results.csv'), True), (('logs', 'locks', 'main.log'), True),
    (('results.csv',), False), (('README.md', 'main.py'), False)])
def test_only_an_empty_or_study_folder_is_a_workdir(tmp_path, entries, ok):
  for name in entries:
    (tmp_path / name).write_text('x')
  if ok:
    workdir_checks.check_study_folder(tmp_path)
  else:
    with pytest.raises(workdir_checks.ForeignWorkdirError, match='holds no study'):
      workdir_checks.check_study_folder(tmp_path)


def _main(workdir, *args):
  return subprocess.run([sys.executable, 'main.py', *SMOKE, f'--workdir={workdir}', *args],
                        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)


def test_main_refuses_a_foreign_folder_and_leaves_it_as_it_was(tmp_path):
  (tmp_path / 'results.csv').write_text('precious')
  result = _main(tmp_path)
  assert result.returncode == 1 and 'holds no study' in result.stderr
  assert 'Traceback' not in result.stderr
  assert sorted(p.name for p in tmp_path.iterdir()) == ['results.csv']
  assert (tmp_path / 'results.csv').read_text() == 'precious'


def test_main_refuses_a_held_study_and_a_held_cell(tmp_path):
  with locks.study_lock(tmp_path):
    result = _main(tmp_path)
  assert result.returncode == 1
  assert f'the study in {tmp_path} is being run by PID {os.getpid()}' in result.stderr
  assert not (tmp_path / 'config.json').exists()
  with locks.cell_lock(tmp_path, CELL0):
    result = _main(tmp_path, '--config.cell=0')
  assert result.returncode == 1 and 'Traceback' not in result.stderr
  assert f'cell {CELL0} is being run by PID {os.getpid()}' in result.stderr
  assert not (tmp_path / 'cells' / CELL0 / 'checkpoints').exists()


def test_a_file_system_without_locks_runs_unlocked_with_a_warning(tmp_path, monkeypatch,
                                                                  caplog):
  def no_locks(fd, operation):
    raise OSError(locks.errno.ENOLCK, 'No locks available')

  monkeypatch.setattr(locks.fcntl, 'flock', no_locks)
  with caplog.at_level(logging.WARNING):
    with locks.cell_lock(tmp_path, 'c'):
      pass
  assert 'cannot lock files' in caplog.text and 'running unlocked' in caplog.text
