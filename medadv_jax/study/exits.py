"""Turns what stops a command into one line and an exit status, not a traceback.

A user error (`MedAdvError`) exits 1, a full disk exits 1 naming the file, and
Ctrl-C exits 130 (as shells report SIGINT) saying the run can be resumed.
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


@contextlib.contextmanager
def one_line_errors():
  """Runs the block; exits with one line if it fails with a user error, a full
  disk or Ctrl-C (anything else keeps its traceback: that is a bug). A full disk
  met by a background thread (TensorBoard's event writer) is one log line too;
  the main thread meets it at its next write."""
  default_hook = threading.excepthook
  threading.excepthook = lambda args: _thread_failed(args, default_hook)
  try:
    yield
  except KeyboardInterrupt:
    # A second Ctrl-C (or a scheduler's SIGTERM) must not cut the exit short with a
    # traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.warning('%s', INTERRUPTED_MESSAGE)
    print(INTERRUPTED_MESSAGE, file=sys.stderr)
    sys.exit(INTERRUPTED_EXIT)
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
