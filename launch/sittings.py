"""The sittings of a study run by a launcher: when each began and ended, in
WORKDIR/sittings.jsonl, so that a study run over several sittings (killed,
resumed another day) can state its wall time.

A sitting writes one line when it starts and one when it ends, both keyed by
its start time. A sitting killed before it could write its end (SIGKILL, a
machine taken away) still shows: its end is then the last write to the
study's logs or cells before the next sitting began, and it is marked so.
"""

import json
import pathlib
import time

from medadv_jax import atomic_files

FILE_NAME = 'sittings.jsonl'
_now = time.time  # The clock; tests replace it.


def begin(workdir: pathlib.Path, cells_to_run: int, workers: int, command: str) -> float:
  """Records a sitting's start; returns its key (the time now)."""
  started = round(_now(), 1)
  _append(workdir, dict(started=started, cells_to_run=cells_to_run, workers=workers,
                        command=command))
  return started


def end(workdir: pathlib.Path, started: float, cells_finished: int, cells_failed: int) -> None:
  """Records the end of the sitting begun at `started` and what it finished
  (a cell stopped by Ctrl-C counts as neither)."""
  ended = round(_now(), 1)
  _append(workdir, dict(started=started, ended=ended, seconds=round(ended - started, 1),
                        cells_finished=cells_finished, cells_failed=cells_failed))


def read(workdir: pathlib.Path) -> list[dict]:
  """The sittings in start order, each with `started`, `ended`, `seconds`,
  `command`, `workers`, `cells_to_run`, `cells_finished`, `cells_failed` (None
  where unknown) and `cut_short` (True where no end was recorded: `ended` is
  then the study's last write before the next sitting, or None if none)."""
  sittings = {}
  for row in atomic_files.read_jsonl(pathlib.Path(workdir) / FILE_NAME):
    if 'started' not in row:
      continue
    sitting = sittings.setdefault(row['started'], dict.fromkeys(
        ('ended', 'seconds', 'command', 'workers', 'cells_to_run', 'cells_finished',
         'cells_failed')))
    if 'cells_run' in row:  # One line per sitting, written at its end.
      row = dict(row, cells_to_run=row['cells_run'])
    sitting.update({k: v for k, v in row.items() if k in sitting or k == 'started'})
  ordered = [sittings[k] for k in sorted(sittings)]
  for sitting, following in zip(ordered, ordered[1:] + [None]):
    sitting['cut_short'] = sitting['ended'] is None
    if sitting['cut_short']:
      until = following['started'] if following else _now()
      last = last_write(workdir, sitting['started'], until)
      sitting['ended'] = last
      sitting['seconds'] = None if last is None else round(last - sitting['started'], 1)
  return ordered


def last_write(workdir: pathlib.Path, since: float, until: float) -> float | None:
  """The latest modification time in [since, until) of the study's logs and
  cell files, or None if none falls there."""
  workdir = pathlib.Path(workdir)
  times = [path.stat().st_mtime
           for pattern in ('logs/*.log', 'cells/*/*')
           for path in workdir.glob(pattern) if path.is_file()]
  inside = [t for t in times if since <= t < until]
  return round(max(inside), 1) if inside else None


def _append(workdir: pathlib.Path, row: dict) -> None:
  with open(pathlib.Path(workdir) / FILE_NAME, 'a', encoding='utf-8') as f:
    f.write(json.dumps(row) + '\n')
