"""What every launcher shares: the config flags, the forwarded args, the cell list."""

import pathlib
import shlex
import shutil
import subprocess
import sys

from absl import app, flags
from ml_collections import config_flags

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

# pylint: disable=g-import-not-at-top,wrong-import-position
from medadv_jax.study import cells as cells_lib, config_validation, flag_checks

CONFIG = config_flags.DEFINE_config_file('config', None, 'Study config file[:arg].')
WORKDIR = flags.DEFINE_string('workdir', None, 'Study workdir, shared by every worker.')
flags.mark_flags_as_required(['config', 'workdir'])


def config_args() -> list[str]:
  """The --config and --config.a.b=v flags as typed (--flag=value form), to forward.

  Read from sys.argv: absl's `main(argv)` receives only what flags left over.
  A `--config.cell` is left out: the launchers give each worker its own, and
  main.py refuses a field given twice.
  """
  forwarded = []
  for arg in sys.argv[1:]:
    name = arg.split('=', 1)[0]
    if (name in ('--config', '-config') and '=' not in arg
        or name.startswith(('--noconfig', '--flagfile', '-flagfile'))
        or name.startswith('--config.') and '=' not in arg):
      # Forwarded as typed, these would lose their value or be dropped, and
      # every worker would run another study than the one asked for.
      print(f'error: {arg}: the launchers pass --config to their workers only as '
            '--config=FILE[:arg] and --config.a.b=VALUE (with "="; booleans as '
            '--config.a.b=False), not through --flagfile', file=sys.stderr)
      sys.exit(2)
    if arg.startswith('--config') and not arg.startswith('--config.cell='):
      forwarded.append(arg)
  return forwarded


def validated_cells():
  """The study's cells, after the same validation main.py does."""
  config_validation.validate(CONFIG.value)
  return cells_lib.expand_cells(CONFIG.value)


def quoted(argv: list[str]) -> str:
  return ' '.join(shlex.quote(a) for a in argv)


def require_tool(name: str, where: str) -> None:
  """Exits with one error line unless the command-line tool `name` is on PATH."""
  if shutil.which(name) is None:
    print(f'error: {name} is not on PATH: run this {where}, or pass --dry_run to print the '
          'commands.', file=sys.stderr)
    sys.exit(1)


def run_tool(command: list[str], **kwargs) -> subprocess.CompletedProcess:
  """subprocess.run(command, check=True, ...); a failure exits with one error line
  naming the command and its exit status instead of a traceback."""
  try:
    return subprocess.run(command, check=True, **kwargs)
  except subprocess.CalledProcessError as e:
    detail = (e.stderr or '').strip().splitlines()[-1:] if isinstance(e.stderr, str) else []
    print(f'error: {quoted(command)} failed with exit status {e.returncode}'
          + (f': {detail[0]}' if detail else '') + '.', file=sys.stderr)
    sys.exit(1)


def run(main) -> None:
  """app.run(main), with the command line checked first (`flag_checks`)."""
  app.run(main, flags_parser=flag_checks.parse_flags)
