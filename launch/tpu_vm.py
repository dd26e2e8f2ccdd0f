"""Runs a study on a Cloud TPU VM (one host or a pod slice) with gcloud.

  python launch/tpu_vm.py --config=configs/default.py --workdir=/tmp/runs/default \
      --tpu=my-tpu --zone=us-central2-b --accelerator=v4-8 [--create] [--dry_run]

Copies this checkout to every worker, installs the pinned requirements plus
jax[tpu], and starts the same `main.py` command on all workers at once; on a
pod slice, jax.distributed finds the other hosts by itself and each training
batch is sharded over all chips. --dry_run prints the gcloud commands only.
"""

import pathlib
import sys

from absl import flags

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # pylint: disable=g-import-not-at-top,wrong-import-position

from medadv_jax.errors import MedAdvError  # pylint: disable=g-import-not-at-top

_TPU = flags.DEFINE_string('tpu', None, 'TPU VM name.')
_ZONE = flags.DEFINE_string('zone', None, 'Cloud zone of the TPU.')
_ACCELERATOR = flags.DEFINE_string('accelerator', 'v4-8', 'Accelerator type, for --create.')
_VERSION = flags.DEFINE_string('version', 'tpu-ubuntu2204-base', 'TPU VM image, for --create.')
_CREATE = flags.DEFINE_bool('create', False, 'Create the TPU VM first.')
_DRY_RUN = flags.DEFINE_bool('dry_run', False, 'Print the gcloud commands only.')
flags.mark_flags_as_required(['tpu', 'zone'])

REMOTE_DIR = '~/medadv-jax'


def gcloud_commands(forwarded: list[str], workdir: str) -> list[list[str]]:
  base = ['gcloud', 'compute', 'tpus', 'tpu-vm']
  where = [_TPU.value, f'--zone={_ZONE.value}']
  commands = []
  if _CREATE.value:
    commands.append(base + ['create', *where, f'--accelerator-type={_ACCELERATOR.value}',
                            f'--version={_VERSION.value}'])
  remote = (f'cd {REMOTE_DIR} && pip install -q -r requirements.txt "jax[tpu]" && '
            + common.quoted(['python3', 'main.py', *forwarded, f'--workdir={workdir}']))
  commands.append(base + ['scp', '--recurse', str(common.REPO_ROOT) + '/.',
                          f'{_TPU.value}:{REMOTE_DIR}', f'--zone={_ZONE.value}', '--worker=all'])
  commands.append(base + ['ssh', *where, '--worker=all', f'--command={remote}'])
  return commands


def main(argv):
  del argv
  try:
    n_cells = len(common.validated_cells())
  except MedAdvError as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(1)
  commands = gcloud_commands(common.config_args(), common.WORKDIR.value)
  if _DRY_RUN.value:
    print(f'# {n_cells} cells on TPU VM {_TPU.value}')
    print('\n'.join(common.quoted(c) for c in commands))
    return
  common.require_tool('gcloud', 'where the Google Cloud CLI is installed')
  for command in commands:
    common.run_tool(command)


if __name__ == '__main__':
  common.run(main)
