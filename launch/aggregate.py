"""Writes a study's tables, figure and report from whatever cells are finished.

  python launch/aggregate.py --config=configs/default.py --workdir=runs/default
"""

import pathlib
import sys


sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # pylint: disable=g-import-not-at-top,wrong-import-position

# pylint: disable=g-import-not-at-top
from medadv_jax.errors import MedAdvError
from medadv_jax.reporting import write_outputs
from medadv_jax.reporting.claims import plan as plan_lib
from medadv_jax.study import runner


def main(argv):
  del argv
  workdir = pathlib.Path(common.WORKDIR.value)
  try:
    cells = common.validated_cells()
    if not workdir.is_dir():
      raise runner.WorkdirError(f'--workdir={str(workdir)!r} is not a folder: no study to '
                                'aggregate there.')
    runner.check_plan(workdir, common.CONFIG.value)  # Another plan: launch/reanalyse.py.
    rows = runner.collect_finished_rows(common.CONFIG.value, workdir)
    if not rows:
      # Tables from no cells would replace the ones an earlier run wrote.
      raise runner.WorkdirError(
          f'none of the {len(cells)} cells of this config is finished in {workdir}, so '
          'nothing was written: is --config (and its overrides) the study\'s?')
  except MedAdvError as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(1)
  write_outputs.write_all(rows, workdir, plan_lib.Plan.from_config(common.CONFIG.value.analysis))
  print(f'{len(rows)} result rows written to {workdir}')


if __name__ == '__main__':
  common.run(main)
