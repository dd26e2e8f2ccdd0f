"""Locks that keep two processes off one study, or off one cell of it.

A full run (and `launch/local_sweep.py`) holds the study's lock; every process
that trains a cell holds that cell's lock, so the workers of a sweep or a SLURM
array share a workdir cell by cell. A second process on a held lock stops at
once with one line naming the holder's PID and host.

The locks are `fcntl.flock` locks on files in WORKDIR/locks/, which also hold
the holder's PID, host and start time for that message. The kernel releases a
flock when its holder dies, so the lock of a killed process is taken over (and
logged) by the next run; no stale lock ever needs deleting by hand.
"""

import contextlib
import datetime
import errno
import fcntl
import json
import os
import pathlib
import socket

from absl import logging

from medadv_jax.errors import MedAdvError

LOCK_DIR = 'locks'
STUDY_LOCK = 'study.lock'


class LockHeldError(MedAdvError):
  """Another process holds the lock of the study or cell this run needs."""


def study_lock(workdir: pathlib.Path):
  """Context manager holding the lock of the whole study in `workdir`."""
  return _held(pathlib.Path(workdir) / LOCK_DIR / STUDY_LOCK,
               f'the study in {workdir}')


def cell_lock(workdir: pathlib.Path, cell_name: str):
  """Context manager holding the lock of one cell of the study in `workdir`."""
  return _held(pathlib.Path(workdir) / LOCK_DIR / f'{cell_name}.lock', f'cell {cell_name}')


@contextlib.contextmanager
def _held(path: pathlib.Path, what: str):
  path.parent.mkdir(parents=True, exist_ok=True)
  fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
  try:
    locked = _try_lock(fd, path)
    if locked is False:
      holder = _describe(_read(fd))
      raise LockHeldError(
          f'{what} is being run by {holder} (lock {path}); wait for that process to end '
          '(or stop it), then run the same command again.')
    previous = _read(fd)
    if previous:
      logging.info('took over the lock of %s, which ended without releasing it: %s',
                   what, _describe(previous))
    _write(fd, {'pid': os.getpid(), 'host': socket.gethostname(),
                'since': datetime.datetime.now(datetime.timezone.utc).isoformat(
                    timespec='seconds')})
    try:
      yield
    finally:
      if locked is True:
        _write(fd, None)  # Released cleanly: the next holder has nothing to take over.
        fcntl.flock(fd, fcntl.LOCK_UN)
  finally:
    os.close(fd)


def _try_lock(fd: int, path: pathlib.Path):
  """True if locked, False if another holds it, None if the file system has no locks."""
  try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return True
  except BlockingIOError:
    return False
  except OSError as e:
    if e.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
      raise
    logging.warning('the file system of %s cannot lock files (%s); running unlocked', path,
                    e)
    return None


def _read(fd: int):
  os.lseek(fd, 0, os.SEEK_SET)
  text = os.read(fd, 4096).decode('utf-8', 'replace')
  try:
    return json.loads(text) if text.strip() else None
  except json.JSONDecodeError:
    return {'pid': '?', 'host': '?', 'since': '?'}


def _write(fd: int, holder) -> None:
  os.ftruncate(fd, 0)
  if holder is not None:
    os.pwrite(fd, json.dumps(holder).encode('utf-8'), 0)


def _describe(holder) -> str:
  if not holder:
    return 'another process'
  pid, host = holder.get('pid', '?'), holder.get('host', '?')
  alive = ''
  if host == socket.gethostname() and isinstance(pid, int) and not _pid_alive(pid):
    alive = ', no longer running'
  return f'PID {pid} on host {host} (since {holder.get("since", "?")}{alive})'


def _pid_alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True
  return True
