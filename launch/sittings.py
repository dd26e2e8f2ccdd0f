"""The sittings of a study run by a launcher: when each began and ended, in
WORKDIR/sittings.jsonl, so that a study run over several sittings (killed,
resumed another day) can state its wall time."""

import json
import pathlib
import time

FILE_NAME = 'sittings.jsonl'


def record(workdir: pathlib.Path, started: float, cells_run: int, workers: int,
           command: str) -> None:
  """Appends one sitting (`started`: time.time() at its start) to the file."""
  row = dict(started=round(started, 1), ended=round(time.time(), 1),
             seconds=round(time.time() - started, 1), cells_run=cells_run, workers=workers,
             command=command)
  with open(pathlib.Path(workdir) / FILE_NAME, 'a', encoding='utf-8') as f:
    f.write(json.dumps(row) + '\n')


def read(workdir: pathlib.Path) -> list[dict]:
  """The sittings recorded so far (a line cut short by a kill is skipped)."""
  path = pathlib.Path(workdir) / FILE_NAME
  rows = []
  if path.exists():
    for line in path.read_text(encoding='utf-8').splitlines():
      try:
        rows.append(json.loads(line))
      except json.JSONDecodeError:
        continue
  return rows
