"""Runs a robustness study: train every model size, attack it, write the report.

  python main.py --config=configs/default.py --workdir=runs/default
  python main.py --config=configs/default.py:smoke --workdir=/tmp/smoke \
      --config.model.widths='(0.5, 1.0)'

Re-running on the same workdir skips the cells already finished and resumes an
interrupted training run from its last epoch.
"""

import logging as std_logging
import pathlib
import sys

from absl import app, flags, logging
from ml_collections import config_flags

from medadv_jax.errors import MedAdvError
from medadv_jax.study import runner

_CONFIG = config_flags.DEFINE_config_file(
    'config', None, 'Study config file, optionally with :arg.', lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', None, 'Folder for checkpoints and results.')
flags.mark_flags_as_required(['config', 'workdir'])


class _HideLibraryInfo(std_logging.Filter):
  """Keeps the study's own progress lines readable: orbax logs every save at INFO."""

  def filter(self, record):
    return record.levelno >= std_logging.WARNING or '/orbax/' not in record.pathname


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  logging.get_absl_handler().addFilter(_HideLibraryInfo())
  try:
    runner.run_study(_CONFIG.value, pathlib.Path(_WORKDIR.value))
  except MedAdvError as e:
    logging.error('%s', e)
    print(f'error: {e}', file=sys.stderr)
    sys.exit(1)
  logging.info('results in %s', _WORKDIR.value)


if __name__ == '__main__':
  app.run(main)
