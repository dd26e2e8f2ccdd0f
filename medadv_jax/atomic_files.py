"""Writes files so that a reader or a kill never sees half of one.

Content goes to a temporary file beside the target, named per process because
parallel workers share a workdir, and is renamed over the target when complete.
"""

import contextlib
import os
import pathlib


@contextlib.contextmanager
def atomic_path(path: pathlib.Path):
  """Yields a temporary path to write; renames it to `path` if the block succeeds."""
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  tmp = path.with_name(f'.{path.name}.{os.getpid()}.tmp')
  try:
    yield tmp
    os.replace(tmp, path)
  finally:
    tmp.unlink(missing_ok=True)


def write_text(path: pathlib.Path, text: str) -> None:
  with atomic_path(path) as tmp:
    tmp.write_text(text)


def save_figure(fig, path: pathlib.Path, dpi: int = 110) -> None:
  """Writes a matplotlib figure as PNG, atomically, and closes it (figures
  left open accumulate over a long study)."""
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  with atomic_path(path) as tmp:
    fig.savefig(tmp, dpi=dpi, format='png')
  plt.close(fig)
