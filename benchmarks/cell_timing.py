"""Per-cell time breakdown of a finished study, from each cell's timing.json.

  python benchmarks/cell_timing.py --workdir=runs/default

Prints a markdown table: seconds per stage for every cell, the total per stage
and each stage's share of the cells' time; the members of the strong attack
and of the audit (strong_attack/<member>, audit/<member>) get columns of their
own after their stage.
"""

import json
import pathlib

from absl import app, flags

_WORKDIR = flags.DEFINE_string('workdir', None, 'A study workdir.', required=True)
STAGES = ('train', 'clean', 'certify', 'paper_attacks', 'strong_attack', 'sanity_checks',
          'audit', 'examples', 'embedding', 'total')


def table(workdir: pathlib.Path) -> list[str]:
  cells = sorted(pathlib.Path(workdir, 'cells').glob('*/timing.json'))
  timings = {path.parent.name: json.loads(path.read_text()) for path in cells}
  stages = ()
  for stage in STAGES:
    members = sorted({k for t in timings.values() for k in t if k.startswith(f'{stage}/')})
    stages += (stage, *members)
  lines = ['| cell | ' + ' | '.join(stages) + ' |', '|---|' + '---:|' * len(stages)]
  totals = {stage: 0.0 for stage in stages}
  for name, timing in timings.items():
    lines.append(f'| {name} | ' + ' | '.join(f'{timing.get(s, 0):.1f}' for s in stages) + ' |')
    for stage in stages:
      totals[stage] += timing.get(stage, 0.0)
  lines.append('| **all cells** | ' + ' | '.join(f'{totals[s]:.0f}' for s in stages) + ' |')
  whole = totals['total'] or 1.0
  lines.append('| share | ' + ' | '.join(f'{totals[s] / whole:.0%}' for s in stages) + ' |')
  return lines


def main(argv):
  del argv
  print('\n'.join(table(pathlib.Path(_WORKDIR.value))))


if __name__ == '__main__':
  app.run(main)
