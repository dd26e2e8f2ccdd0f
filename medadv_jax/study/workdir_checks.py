"""Refuses a --workdir that is some other folder, before anything is written to it."""

import pathlib

from medadv_jax.errors import MedAdvError

# What a study (or a launcher, before its first cell has run) puts in a workdir;
# launch/local_study.sh and the end-to-end benchmark log to main.log first, and
# launch/local_sweep.py records its sitting's start in sittings.jsonl.
STUDY_ENTRIES = frozenset({'config.json', 'cells', 'logs', 'locks', 'main.log',
                           'slurm_cells.sbatch', 'sittings.jsonl'})


class ForeignWorkdirError(MedAdvError):
  """The workdir is a non-empty folder that holds no study."""


def computed_nothing(cell_dir: pathlib.Path, fingerprint_file: str) -> bool:
  """True if a cell folder holds its settings file alone: the cell stopped before
  training (a data error), so other settings may take its place."""
  return cell_dir.is_dir() and {p.name for p in cell_dir.iterdir()
                                if not p.name.startswith('.')} <= {fingerprint_file}


def check_study_folder(workdir: pathlib.Path) -> None:
  """Raises ForeignWorkdirError if `workdir` is a folder holding files, but no
  config.json, beside what the launchers write first. (A file is left to the
  caller's WorkdirError.)"""
  workdir = pathlib.Path(workdir)
  if not workdir.is_dir() or (workdir / 'config.json').exists():
    return
  foreign = sorted(p.name for p in workdir.iterdir()
                   if p.name not in STUDY_ENTRIES and not p.name.startswith('.config.json.'))
  if foreign:
    shown = ', '.join(foreign[:5]) + (', ...' if len(foreign) > 5 else '')
    raise ForeignWorkdirError(
        f'--workdir={str(workdir)!r} is a non-empty folder that holds no study (no '
        f'config.json; it holds {shown}), and a study would overwrite files such as '
        'results.csv there; allowed: a new or empty folder, or the folder of an earlier '
        'run of the study.')
