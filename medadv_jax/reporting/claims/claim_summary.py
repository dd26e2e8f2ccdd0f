"""The paper's claims as numbers: claims.csv, the machine-readable twin of the
report's claims section, from which studies are compared across datasets and
model families (`cross_study`) without retyping a number.

Rows come from one `analysis.Analysis` (`render.claim_rows`):
claim (a)'s slope per doubling (primary, sensitivity with flagged models in, the
plan's secondary analyses) and claim (b)'s per-size paired gains and its
every-size verdict, each with its interval, seeds, p-values and verdict.
"""

import csv
import io
import math
import pathlib

from medadv_jax import atomic_files
from medadv_jax.reporting.claims import render

FILE_NAME = 'claims.csv'
COLUMNS = render.COLUMNS
_FLOATS = ('estimate', 'low', 'high', 'p', 'p_holm', 'page_p', 'rho')


def claim_rows(rows, analysis) -> list[dict]:
  """claims.csv's rows: `analysis`'s claims, labelled with `rows`' datasets and models."""
  if not rows:
    return []
  return render.claim_rows(analysis, '+'.join(sorted({str(r['dataset']) for r in rows})),
                           '+'.join(sorted({str(r['model']) for r in rows})))


def write_csv(claims, path: pathlib.Path, leading: tuple = (), trailing: tuple = ()) -> None:
  """claims.csv (header only without claims), `leading` columns first and
  `trailing` last; NaN and None written as empty."""
  write_rows(claims, tuple(leading) + COLUMNS + tuple(trailing), path)


def write_rows(rows, columns: tuple, path: pathlib.Path) -> None:
  """A CSV of `rows`' `columns` (header only without rows): floats to 6 significant
  digits, NaN and None as empty; the one writer of the claims' CSV files."""
  text = io.StringIO()
  writer = csv.DictWriter(text, fieldnames=columns, lineterminator='\n')
  writer.writeheader()
  for row in rows:
    writer.writerow({k: _cell(row.get(k, '')) for k in columns})
  atomic_files.write_text(pathlib.Path(path), text.getvalue())


def read_csv(path: pathlib.Path) -> list[dict]:
  """claims.csv back, numbers as floats (NaN where empty) and seeds as ints."""
  with open(path, newline='') as f:
    found = list(csv.DictReader(f))
  for row in found:
    for key in _FLOATS:
      row[key] = float(row[key]) if row.get(key) not in ('', None) else math.nan
    row['seeds'] = int(row['seeds']) if row.get('seeds') not in ('', None) else 0
  return found


def seed_values(row) -> dict:
  """{seed: value} of a row's `seed_values` ('0:-0.012 1:-0.008'; claim (a)'s
  per-seed slopes on its primary row), {} where it has none."""
  return {int(seed): float(value) for seed, value in
          (item.split(':') for item in (row.get('seed_values') or '').split())}


def _cell(value):
  if value is None or isinstance(value, float) and math.isnan(value):
    return ''
  if isinstance(value, float):
    return f'{value:.6g}'
  return value
