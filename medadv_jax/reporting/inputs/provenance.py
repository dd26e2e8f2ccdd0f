"""The report's "Software and hardware" section, from the cells' environment.json
(`medadv_jax.environment`): what every cell shares, and where cells differ."""

import collections
import pathlib
from typing import Optional

from medadv_jax import atomic_files, cell_data, environment


def load(workdir: pathlib.Path, rows) -> dict[str, Optional[dict]]:
  """{cell name: its environment, None if it has no environment.json (finished
  before the file was written)} for every cell of `rows`, in row order."""
  out = {}
  for r in rows:
    name = cell_data.Cell.from_row(r).name
    if name not in out:
      path = pathlib.Path(workdir) / 'cells' / name / environment.FILE_NAME
      out[name] = atomic_files.read_json(path) if path.exists() else None
  return out


def section_lines(environments: dict[str, Optional[dict]]) -> list[str]:
  """Markdown lines: the shared environment, each field the cells differ in
  (with the cells of each value), and the cells that recorded none."""
  recorded = {name: _flatten(env) for name, env in environments.items() if env is not None}
  missing = [name for name, env in environments.items() if env is None]
  lines = []
  if recorded:
    fields = list(dict.fromkeys(f for env in recorded.values() for f in env))
    shared = [f for f in fields
              if len({repr(env.get(f)) for env in recorded.values()}) == 1]
    lines.append(f'Every cell that recorded it ({len(recorded)}): ' + '; '.join(
        f'{f} {_shown(next(iter(recorded.values())).get(f))}' for f in shared) + '.')
    for f in fields:
      if f in shared:
        continue
      by_value = collections.defaultdict(list)
      for name, env in recorded.items():
        by_value[_shown(env.get(f))].append(name)
      lines += ['', f'**Cells differ in {f}:** ' + '; '.join(
          f'{value} ({", ".join(names)})' for value, names in by_value.items())]
  if missing:
    lines += ['', f'{len(missing)} cell(s) without {environment.FILE_NAME} (finished '
              f'before it was written): {", ".join(missing)}.']
  return lines


def _flatten(env: dict, prefix: str = '') -> dict:
  """{'packages': {'jax': v}} -> {'packages.jax': v}."""
  out = {}
  for key, value in env.items():
    if isinstance(value, dict):
      out.update(_flatten(value, f'{prefix}{key}.'))
    else:
      out[f'{prefix}{key}'] = value
  return out


def _shown(value) -> str:
  return 'unknown' if value is None else str(value)
