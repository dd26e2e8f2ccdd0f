"""A finished study's cells in one compressed file (cells.json.gz): each cell's
results rows, per_image.json and audit.json data, so that a published folder can be
re-analysed under another plan without its workdir."""

import gzip
import json
import pathlib

from medadv_jax import atomic_files, cell_data
from medadv_jax.reporting.inputs import audits, per_image_data, result_rows

FILE_NAME = 'cells.json.gz'


def write(workdir: pathlib.Path, rows, path: pathlib.Path) -> None:
  """{cell name: {'results': rows, 'per_image': data or None, 'audit': data or
  None}} of `rows`' cells,
  gzip-compressed JSON, written atomically."""
  cells = {}
  for r in rows:
    cells.setdefault(cell_data.Cell.from_row(r).name, {'results': []})['results'].append(r)
  for name, cell in cells.items():
    found = pathlib.Path(workdir) / 'cells' / name / per_image_data.FILE_NAME
    cell['per_image'] = atomic_files.read_json(found) if found.exists() else None
    found = pathlib.Path(workdir) / 'cells' / name / cell_data.AUDIT_FILE
    cell['audit'] = atomic_files.read_json(found) if found.exists() else None
  data = gzip.compress(json.dumps(cells, separators=(',', ':')).encode(), mtime=0)
  with atomic_files.atomic_path(pathlib.Path(path)) as tmp:
    tmp.write_bytes(data)


def read(path: pathlib.Path) -> tuple[list, dict, list]:
  """(rows, per_image keyed as `per_image_data.load`, audit records as
  `audits.load`) from a FILE_NAME; DamagedFileError if it does not read back."""
  try:
    cells = json.loads(gzip.decompress(pathlib.Path(path).read_bytes()))
  except (OSError, EOFError, ValueError) as e:
    raise atomic_files.damaged(path, f'is not gzip-compressed JSON ({e})') from None
  rows, per_image, audit_records = [], {}, []
  for cell in cells.values():
    rows += cell['results']
    if cell.get('audit') is not None:  # Archives from before the audit have none.
      audit_records.append(audits.record(cell['results'][0], cell['audit']))
    if cell['per_image'] is not None:
      first = cell['results'][0]
      per_image[(result_rows.size_key(first), first['train_mode'], first['seed'])] = \
          cell['per_image']
  return rows, per_image, audit_records
