"""Checks that a folder the run will write to can hold its files, before any work."""

import os
import pathlib
import tempfile

from medadv_jax.errors import DataError


def check_folder(path: str, flag: str, what: str) -> pathlib.Path:
  """Creates `path` if needed and writes a probe file into it; raises DataError
  naming `flag` if it is a file, cannot be created or cannot be written."""
  folder = pathlib.Path(os.path.expanduser(path))
  try:
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=folder):
      pass
  except OSError as e:
    raise DataError(f'{flag}={str(path)!r} cannot hold {what} ({e}); allowed: a folder '
                    'this user can create, or an existing one it can write to.') from None
  return folder
