"""The report's "Data and cells" section: what each cell read (its
data_summary.json), the cells that failed (failed.json), and finished cells of
the workdir this report leaves out because the config no longer names them."""

import pathlib
import re

from medadv_jax import atomic_files, cell_data
from medadv_jax.data import summary as data_summary

_SEED = re.compile(r'_s(\d+)$')


def load(workdir: pathlib.Path, rows) -> dict:
  """Plain data for `section_lines`: {'data': {cell: summary or None}, 'failed':
  {cell: error}, 'left_out': [finished cells not in `rows`]}."""
  cells_dir = pathlib.Path(workdir) / 'cells'
  reported = list(dict.fromkeys(cell_data.Cell.from_row(r).name for r in rows))
  data = {}
  for name in reported:
    path = cells_dir / name / cell_data.DATA_SUMMARY_FILE
    data[name] = atomic_files.read_json(path) if path.exists() else None
  folders = sorted(p for p in cells_dir.iterdir() if p.is_dir()) if cells_dir.is_dir() else []
  return {'data': data,
          'failed': {p.name: atomic_files.read_json(p / cell_data.FAILED_FILE)['error']
                     for p in folders if (p / cell_data.FAILED_FILE).exists()
                     and not (p / 'results.json').exists()},
          'left_out': [p.name for p in folders if (p / 'results.json').exists()
                       and p.name not in reported]}


def left_out_line(names: list[str]) -> str:
  """One line naming the finished cells (and their seeds) a report leaves out."""
  seeds = sorted({int(m.group(1)) for m in map(_SEED.search, names) if m})
  return (f'{len(names)} finished cell(s) of this workdir are left out of this report, '
          f'the config not naming them (seeds {", ".join(map(str, seeds))}: '
          f'{", ".join(names)}); add them back to the config to report them.')


def section_lines(coverage: dict) -> list[str]:
  """Markdown lines: one per distinct data summary (with its cells), then the
  failed and left-out cells."""
  by_summary = {}
  for name, summary in coverage['data'].items():
    key = data_summary.line(summary) if summary else None
    by_summary.setdefault(key, []).append(name)
  lines = []
  for key, names in by_summary.items():
    which = 'every cell' if len(by_summary) == 1 else ', '.join(names)
    lines.append(f'- Data of {which}: {key}.' if key else
                 f'- {", ".join(names)}: no {cell_data.DATA_SUMMARY_FILE} (finished '
                 'before it was written).')
  for name, error in coverage['failed'].items():
    lines.append(f'- **Failed**, not in the tables: {name}: {error}')
  if coverage['left_out']:
    lines.append(f'- {left_out_line(coverage["left_out"])}')
  return lines
