"""Turns what stops a command into one line and an exit status, not a traceback.

A user error (`MedAdvError`) exits 1, a full disk exits 1 naming the file,
Ctrl-C exits 130 (as shells report SIGINT) and SIGTERM (a scheduler's stop,
SLURM's preemption) 143, each saying the run can be resumed.
"""

import contextlib
import errno
import signal
import sys
import threading

from absl import logging

from medadv_jax.errors import DiskFullError, MedAdvError

INTERRUPTED_EXIT = 130
INTERRUPTED_MESSAGE = 'interrupted; run the same command again to resume'
TERMINATED_EXIT = 143
TERMINATED_MESSAGE = 'terminated (SIGTERM); run the same command again to resume'


class Terminated(KeyboardInterrupt):
  """SIGTERM, raised where the program is so that it cleans up as after Ctrl-C."""


def _raise_terminated(signum, frame):
  del signum, frame
  raise Terminated()


@contextlib.contextmanager
def one_line_errors():
  """Runs the block; exits with one line if it fails with a user error, a full
  disk or Ctrl-C (anything else keeps its traceback: that is a bug). A full disk
  met by a background thread (TensorBoard's event writer) is one log line too;
  the main thread meets it at its next write."""
  default_hook = threading.excepthook
  threading.excepthook = lambda args: _thread_failed(args, default_hook)
  # SIGTERM as Ctrl-C, unless the caller handles it already (launch/local_sweep.py).
  catch_term = (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL)
  if catch_term:
    signal.signal(signal.SIGTERM, _raise_terminated)
  try:
    yield
  except KeyboardInterrupt as e:
    # A second Ctrl-C (or a scheduler's SIGTERM) must not cut the exit short with a
    # traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    terminated = isinstance(e, Terminated)
    message = TERMINATED_MESSAGE if terminated else INTERRUPTED_MESSAGE
    logging.warning('%s', message)
    print(message, file=sys.stderr)
    sys.exit(TERMINATED_EXIT if terminated else INTERRUPTED_EXIT)
  except MedAdvError as e:
    _fail(str(e))
  except OSError as e:
    if e.errno != errno.ENOSPC:
      raise
    _fail(str(DiskFullError(e.filename or 'a file')))
  except Exception as e:  # pylint: disable=broad-except
    # TensorStore (orbax's array writer) reports a full disk as a ValueError.
    if 'No space left on device' not in str(e):
      raise
    _fail(str(DiskFullError(f'a checkpoint ({str(e).splitlines()[0][:300]})')))
  finally:
    threading.excepthook = default_hook
    if catch_term and signal.getsignal(signal.SIGTERM) is _raise_terminated:
      signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _thread_failed(args, default_hook) -> None:
  error = args.exc_value
  if isinstance(error, OSError) and error.errno == errno.ENOSPC:
    logging.error('%s', DiskFullError(error.filename or f'a file (thread {args.thread.name})'))
  else:
    default_hook(args)


def _fail(message: str) -> None:
  logging.error('%s', message)
  print(f'error: {message}', file=sys.stderr)
  sys.exit(1)
