"""The one module that writes metrics: JSON lines and TensorBoard event files.

Each row is a step and a set of scalars named by slash tags ('train/loss',
'val/robust_accuracy', ...). It goes to `metrics.jsonl` (one JSON object per
line, `{"step": 120, "train/loss": 0.41, ...}`) and, under the same tags, to
TensorBoard event files in `tensorboard/`, written by tensorboardX (no
TensorFlow needed).

A run resumed from a checkpoint at step S will write again every row after S,
so opening the writer with `resume_step=S` drops those rows from the JSONL
file and tells TensorBoard to hide the old events after S.
"""

import json
import os
import pathlib
import time
from typing import Mapping

from medadv_jax import atomic_files

JSONL_NAME = 'metrics.jsonl'
TENSORBOARD_DIR = 'tensorboard'


class MetricsWriter:
  """Appends metric rows to `directory`/metrics.jsonl and TensorBoard events.

  `enabled=False` (e.g. every process but the first of a multi-host run)
  makes every method a no-op.
  """

  def __init__(self, directory: pathlib.Path, resume_step: int = 0, enabled: bool = True):
    self._file = self._tensorboard = None
    if not enabled:
      return
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / JSONL_NAME
    _keep_rows_up_to(path, resume_step)
    self._file = open(path, 'a', encoding='utf-8')
    # Imported here: tensorboardX (and boto3, which it loads) is slow to import, so
    # a process that trains nothing (a refused config, a launcher) does not wait.
    import tensorboardX  # pylint: disable=g-import-not-at-top
    self._tensorboard = tensorboardX.SummaryWriter(
        str(directory / TENSORBOARD_DIR),
        purge_step=resume_step + 1 if resume_step else None,
        # A restart in the same second must not reuse the old file's name.
        filename_suffix=f'.{os.getpid()}.{time.time_ns()}')

  def write(self, step: int, scalars: Mapping[str, float]) -> None:
    """Writes one row; values must be real numbers (ints stay ints in the JSONL),
    or strings, which go to the JSONL only."""
    if self._file is None:
      return
    row = {'step': int(step)}
    row.update((tag, value if isinstance(value, (int, str)) else float(value))
               for tag, value in scalars.items())
    self._file.write(json.dumps(row) + '\n')
    self._file.flush()  # A row a few steps: cheap, and `tail -f` shows it at once.
    for tag, value in scalars.items():
      if not isinstance(value, str):
        self._tensorboard.add_scalar(tag, float(value), int(step))

  def flush(self) -> None:
    """Hands every row so far to the OS: durable against a kill of this process."""
    if self._file is not None:
      self._file.flush()
      self._tensorboard.flush()

  def close(self) -> None:
    if self._file is not None:
      self._file.close()
      self._tensorboard.close()
      self._file = self._tensorboard = None


def _keep_rows_up_to(path: pathlib.Path, step: int) -> None:
  rows = [row for row in atomic_files.read_jsonl(path) if row['step'] <= step]
  atomic_files.write_text(path, ''.join(json.dumps(row) + '\n' for row in rows))
