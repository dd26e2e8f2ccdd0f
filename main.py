"""Runs a robustness study: train every model size, attack it, write the report.

  python main.py --config=configs/default.py --workdir=runs/default
  python main.py --config=configs/default.py:smoke --workdir=/tmp/smoke \
      --config.model.widths='(0.5, 1.0)'

Re-running on the same workdir skips the cells already finished and resumes an
interrupted training run from its last checkpoint.

Several hosts (a TPU pod slice, a Slurm or Open MPI job, or processes given
JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES and JAX_PROCESS_ID): pass
--distributed, or just set JAX_COORDINATOR_ADDRESS; every training batch is then
split over the devices of all hosts.
"""

import logging as std_logging
import os
import pathlib

import jax
from absl import app, flags, logging
from ml_collections import config_flags

from medadv_jax.study import exits, flag_checks
from medadv_jax.study import runner

_CONFIG = config_flags.DEFINE_config_file(
    'config', None, 'Study config file, optionally with :arg.', lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', None, 'Folder for checkpoints and results.')
_DISTRIBUTED = flags.DEFINE_bool(
    'distributed', False, 'Call jax.distributed.initialize() first (multi-host); also done '
    'when JAX_COORDINATOR_ADDRESS is set.')
flags.mark_flags_as_required(['config', 'workdir'])


class _HideLibraryInfo(std_logging.Filter):
  """Keeps the study's own progress lines readable: orbax logs every save at INFO."""

  def filter(self, record):
    return record.levelno >= std_logging.WARNING or '/orbax/' not in record.pathname


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  logging.get_absl_handler().addFilter(_HideLibraryInfo())
  if _DISTRIBUTED.value or os.environ.get('JAX_COORDINATOR_ADDRESS'):
    _initialize_distributed()
  with exits.one_line_errors():
    runner.run_study(_CONFIG.value, pathlib.Path(_WORKDIR.value))
  logging.info('results in %s', _WORKDIR.value)


def _initialize_distributed():
  """Joins the other processes; arguments come from the cluster or the environment."""
  num_processes = os.environ.get('JAX_NUM_PROCESSES')
  process_id = os.environ.get('JAX_PROCESS_ID')
  jax.distributed.initialize(
      num_processes=int(num_processes) if num_processes else None,
      process_id=int(process_id) if process_id else None)
  logging.info('process %d of %d; %d local and %d global devices', jax.process_index(),
               jax.process_count(), jax.local_device_count(), jax.device_count())


if __name__ == '__main__':
  app.run(main, flags_parser=flag_checks.parse_flags)
