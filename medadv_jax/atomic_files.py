"""Writes files so that a reader or a kill never sees half of one, and reads
the JSON ones back (JSON lines too, which grow by appends a kill may cut).

Content goes to a temporary file beside the target, named per process because
parallel workers share a workdir, and is renamed over the target when complete.
"""

import contextlib
import errno
import json
import os
import pathlib

from medadv_jax.errors import DamagedFileError, DiskFullError


@contextlib.contextmanager
def atomic_path(path: pathlib.Path):
  """Yields a temporary path to write; renames it to `path` if the block succeeds."""
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  tmp = path.with_name(f'.{path.name}.{os.getpid()}.tmp')
  try:
    yield tmp
    os.replace(tmp, path)
  except OSError as e:
    if e.errno == errno.ENOSPC:
      raise DiskFullError(path) from None
    raise
  finally:
    tmp.unlink(missing_ok=True)


def write_text(path: pathlib.Path, text: str) -> None:
  with atomic_path(path) as tmp:
    tmp.write_text(text)


def read_json(path: pathlib.Path):
  """The JSON value in `path`, which this project wrote with `write_text`.

  Its writes are atomic, so a file that does not parse was changed from
  outside (an edit, a failing disk): one clear error instead of a traceback.
  """
  try:
    return json.loads(pathlib.Path(path).read_text(encoding='utf-8'))
  except (UnicodeDecodeError, json.JSONDecodeError) as e:
    raise damaged(path, f'is not valid JSON ({e})') from None


def read_jsonl(path: pathlib.Path) -> list[dict]:
  """The rows of a JSON-lines file (none if it is absent), skipping a line cut
  short by a kill."""
  rows = []
  if pathlib.Path(path).exists():
    for line in pathlib.Path(path).read_text(encoding='utf-8').splitlines():
      try:
        rows.append(json.loads(line))
      except json.JSONDecodeError:
        continue
  return rows


def damaged(path: pathlib.Path, what: str) -> DamagedFileError:
  """The error for a file this project wrote whole that no longer reads back."""
  return DamagedFileError(
      f'{path} {what}; medadv-jax writes it whole, so it was changed from outside. '
      'Delete the folder holding it to redo that part of the run, or use a new --workdir.')


def save_figure(fig, path: pathlib.Path, dpi: int = 110) -> None:
  """Writes a matplotlib figure as PNG, atomically, and closes it (figures
  left open accumulate over a long study)."""
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  with atomic_path(path) as tmp:
    fig.savefig(tmp, dpi=dpi, format='png')
  plt.close(fig)
