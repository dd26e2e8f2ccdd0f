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
  """Records a sitting's start; returns its key (the time now). A sitting
  before it that never wrote its end is closed first, while the study's files
  still hold the times of its last writes (this sitting will write some again)."""
  started = round(_now(), 1)
  for sitting in read(workdir, until=started):
    if sitting['cut_short'] and not sitting['end_recorded']:
      _append(workdir, dict(started=sitting['started'], ended=sitting['ended'],
                            seconds=sitting['seconds'], cut_short=True))
  _append(workdir, dict(started=started, cells_to_run=cells_to_run, workers=workers,
                        command=command))
  return started


def end(workdir: pathlib.Path, started: float, cells_finished: int, cells_failed: int) -> None:
  """Records the end of the sitting begun at `started` and what it finished
  (a cell stopped by Ctrl-C counts as neither)."""
  ended = round(_now(), 1)
  _append(workdir, dict(started=started, ended=ended, seconds=round(ended - started, 1),
                        cells_finished=cells_finished, cells_failed=cells_failed))


def read(workdir: pathlib.Path, until: float | None = None) -> list[dict]:
  """The sittings in start order, each with `started`, `ended`, `seconds`,
  `command`, `workers`, `cells_to_run`, `cells_finished`, `cells_failed` (None
  where unknown), `cut_short` (True for a sitting that never wrote its end:
  `ended` is then the study's last write before the next sitting, recorded
  when that one began, or None if nothing was written) and `end_recorded`.
  A last sitting without an end is taken to end by `until` (default: now)."""
  sittings = {}
  for row in atomic_files.read_jsonl(pathlib.Path(workdir) / FILE_NAME):
    if 'started' not in row:
      continue
    sitting = sittings.setdefault(row['started'], dict(dict.fromkeys(
        ('ended', 'seconds', 'command', 'workers', 'cells_to_run', 'cells_finished',
         'cells_failed')), cut_short=False, end_recorded=False))
    if 'cells_run' in row:  # One line per sitting, written at its end.
      row = dict(row, cells_to_run=row['cells_run'])
    if 'ended' in row:
      sitting['end_recorded'] = True
    sitting.update({k: v for k, v in row.items() if k in sitting or k == 'started'})
  ordered = [sittings[k] for k in sorted(sittings)]
  for sitting, following in zip(ordered, ordered[1:] + [None]):
    if not sitting['end_recorded']:
      bound = following['started'] if following else (until or _now())
      last = last_write(workdir, sitting['started'], bound)
      sitting.update(cut_short=True, ended=last,
                     seconds=None if last is None else round(last - sitting['started'], 1))
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
  path = pathlib.Path(workdir) / FILE_NAME
  with open(path, 'a+b') as f:  # Appends go to the end whatever the read position.
    cut = False
    if f.seek(0, 2) > 0:
      f.seek(-1, 2)
      cut = f.read(1) != b'\n'  # A kill cut the last line short.
    f.write((b'\n' if cut else b'') + json.dumps(row).encode() + b'\n')
