"""Cell groups in the study: which seeds a group trains, and a grouped study end to end."""

import json
import subprocess
import sys

import pytest

from medadv_jax import cell_data
from medadv_jax.errors import ConfigError
from medadv_jax.study import config_validation, groups
from training_helpers import REPO_ROOT, default_config


def _cell(seed, mode='standard'):
  return cell_data.Cell('pneumoniamnist', 'cnn', 0.25, None, mode, seed)


def test_group_names_and_leading_cells():
  cells = [_cell(s, m) for m in ('standard', 'pgd') for s in (0, 1, 12)]
  assert groups.group_name(cells[2]) == 'pneumoniamnist_cnn_w0.25_standard'
  assert groups.leading_indices(cells) == [0, 3]
  assert [i for i, _ in groups.group_of(cells, 4)] == [3, 4, 5]


def test_plan_reuses_a_group_folder_that_holds_a_pending_seed(tmp_path):
  name = groups.group_name(_cell(0))
  assert groups.plan(tmp_path, name, [0, 1, 2]) == [(0, 1, 2)]
  groups.folder(tmp_path, name, (0, 1, 2)).mkdir(parents=True)
  # Killed while attacking seed 2: the same group trains again (it resumes).
  assert groups.plan(tmp_path, name, [2]) == [(0, 1, 2)]
  # More seeds later: the old group for its seeds, a new one for the others.
  assert groups.plan(tmp_path, name, [2, 3, 4]) == [(0, 1, 2), (3, 4)]
  assert groups.plan(tmp_path, name, [3, 4]) == [(3, 4)]
  (tmp_path / groups.GROUPS_DIR / f'{name}_s1x').mkdir()  # Not a group folder.
  assert groups.existing(tmp_path, name) == [(0, 1, 2)]


def test_a_grouped_study_writes_every_cell_and_its_layout(tmp_path):
  workdir = tmp_path / 'study'
  # Grouped training is the subject: the strong attack, its whole-box check, the
  # audit, the embedding and the sanity reruns (test_main.py's smoke study) are off.
  result = subprocess.run(
      [sys.executable, 'main.py', '--config=configs/default.py:smoke', '--config.seeds=(0,1)',
       '--config.model.widths=(0.25,)', "--config.train.modes=('standard',)",
       "--config.attack.names=('fgsm',)", "--config.attack.targets=('untargeted',)",
       '--config.attack.strong.eps_255=()', '--config.attack.sanity.large_eps_255=0',
       '--config.attack.audit.images=0', '--config.report.embedding_images=0',
       '--config.attack.sanity.more_steps_eps_255=()',
       '--config.attack.sanity.certificate_sample=0',
       '--config.seed_groups=on', '--config.cell=1',
       f'--workdir={workdir}'], cwd=REPO_ROOT, capture_output=True, text=True, timeout=900)
  assert result.returncode == 0, result.stderr[-3000:]
  name = 'pneumoniamnist_cnn_w0.25_standard'
  assert (workdir / groups.GROUPS_DIR / f'{name}_s0-1' / 'checkpoints').is_dir()
  for seed in (0, 1):  # --config.cell=1 ran its whole group.
    cell_dir = workdir / 'cells' / f'{name}_s{seed}'
    assert (cell_dir / 'results.json').exists()
    layout = json.loads((cell_dir / 'environment.json').read_text())['training_layout']
    assert layout == {'group_size': 2, 'devices': 1, 'slots': 2, 'seeds_per_device': 2,
                      'grouped': True, 'group_seeds': [0, 1]}
    assert (cell_dir / 'metrics.jsonl').exists()


def test_slurm_spreads_one_task_per_group():
  result = subprocess.run(
      [sys.executable, 'launch/slurm.py', '--config=configs/default.py:smoke',
       '--config.seeds=(0,1)', '--workdir=/shared/study', '--dry_run'],
      cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  # Smoke: widths 0.25 and 0.5 x 2 modes = 4 groups of 2 seeds; their first cells.
  assert '#SBATCH --array=0-3' in result.stdout
  assert 'CELLS=(0 2 4 6)' in result.stdout
  assert '--config.cell="${CELLS[$SLURM_ARRAY_TASK_ID]}"' in result.stdout


def test_an_unknown_seed_groups_setting_is_refused_in_one_line():
  config = default_config('smoke')
  config.seed_groups = 'maybe'
  with pytest.raises(ConfigError, match="seed_groups.*'maybe'.*on, auto, off"):
    config_validation.validate(config)
