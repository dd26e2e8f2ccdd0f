"""Answers a finished study again under a named analysis plan, without training
or attacking: report.md, claims.csv, plan.json and the figures go to
WORKDIR/analyses/<analysis.name>/, beside every other plan's answer.

  python launch/reanalyse.py --config=configs/default.py --workdir=runs/default \
      --config.analysis.name=strict --config.analysis.size.margin=0.005

--workdir is a study workdir (its cells/) or a published folder (its
cells.json.gz, launch/publish_study.py); --config is the study's config (a
published folder's made.json names it), whose `analysis` is the plan. A plan
name already answered under another plan is refused, so no answer is overwritten.
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # pylint: disable=g-import-not-at-top,wrong-import-position

# pylint: disable=g-import-not-at-top
from medadv_jax.errors import MedAdvError
from medadv_jax.reporting import write_outputs
from medadv_jax.reporting.claims import plan as plan_lib
from medadv_jax.reporting.inputs import cells_archive
from medadv_jax.study import exits, runner


def study_cells(config, workdir: pathlib.Path) -> tuple[list, dict | None, list | None]:
  """(rows, per_image, audit records; both None to read them from the cells) of a
  workdir or a published folder."""
  archive = workdir / cells_archive.FILE_NAME
  if archive.is_file():
    return cells_archive.read(archive)
  rows = runner.collect_finished_rows(config, workdir) if (workdir / 'cells').is_dir() else []
  if not rows:
    raise MedAdvError(f'--workdir={str(workdir)!r} has no finished cells and no '
                      f'{cells_archive.FILE_NAME}; allowed: a study workdir or a published '
                      'study folder')
  return rows, None, None


def check_name(workdir: pathlib.Path, plan: plan_lib.Plan) -> pathlib.Path:
  """The plan's answer folder; refused when its name was answered under another plan."""
  out = workdir / plan_lib.ANSWERS_DIR / plan.name
  for path in (out / plan_lib.FILE_NAME, workdir / plan_lib.FILE_NAME):
    if path.is_file():
      found = plan_lib.read(path)
      if found.name == plan.name and found != plan:
        raise MedAdvError(f'--config.analysis.name={plan.name!r}: {path} holds another plan '
                          'of that name; allowed: a new name (answers are never '
                          'overwritten)')
  return out


def main(argv):
  del argv
  workdir = pathlib.Path(common.WORKDIR.value)
  config = common.CONFIG.value
  # Everything is read and checked before anything is written.
  try:
    common.validated_cells()
    plan = plan_lib.Plan.from_config(config.analysis)
    out = check_name(workdir, plan)
    rows, per_image, audit_records = study_cells(config, workdir)
  except MedAdvError as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(1)
  with exits.one_line_errors():  # A full disk: one line.
    out.mkdir(parents=True, exist_ok=True)
    plan_lib.write(plan, out)
    write_outputs.write_all(rows, out, plan, cells_dir=workdir, per_image=per_image,
                            audit_records=audit_records)
  print(f'{workdir} answered under plan {plan.name!r} in {out}')


if __name__ == '__main__':
  common.run(main)
