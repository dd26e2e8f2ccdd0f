"""The cells' audit.json (evaluation/audit.py) as plain records for the analysis."""

import pathlib

from medadv_jax import atomic_files, cell_data
from medadv_jax.reporting.inputs import result_rows


def load(workdir: pathlib.Path, rows) -> list[dict]:
  """One record per cell of `rows` with an audit.json: {'size', 'params', 'mode',
  'seed', 'audit'} (cells finished before the audit are left out)."""
  out, seen = [], set()
  for r in rows:
    key = (result_rows.size_key(r), r['train_mode'], r['seed'])
    path = (pathlib.Path(workdir) / 'cells' / cell_data.Cell.from_row(r).name
            / cell_data.AUDIT_FILE)
    if key in seen or not path.exists():
      continue
    seen.add(key)
    out.append(record(r, atomic_files.read_json(path)))
  return out


def record(row, audit: dict) -> dict:
  """The record of the cell of results row `row` with audit.json data `audit`."""
  return {'size': result_rows.size_label(row), 'params': int(row['params']),
          'mode': row['train_mode'], 'seed': row['seed'], 'audit': audit}
