"""The front door for one's own model: a model named by import path runs through
main.py like a registered one, and `medadv_jax.evaluate_robustness` gives the
study's rows for a model outside any study."""

import csv
import os
import pathlib
import shutil
import subprocess
import sys

import jax
import numpy as np
import pytest

import medadv_jax
from medadv_jax import atomic_files
from medadv_jax.data import dataset as data_lib
from medadv_jax.errors import ConfigError
from medadv_jax.models import complexity, registry
from medadv_jax.study import cells, config_validation, runner
from medadv_jax.training import loop
from training_helpers import default_config
import built_once

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
OWN_MODEL = 'own_model_nets:TinyOwnNet'
EPS_255 = (0.0, 2.0, 8.0)


def _tiny_overrides(model: str) -> dict:
  return {'model.names': (model,), 'model.widths': (0.5,), 'train.modes': ('standard',),
          'train.epochs': 1, 'data.train_limit': 128, 'data.attack_per_class': 4,
          'attack.names': ('fgsm', 'pgd'), 'attack.targets': ('untargeted',),
          'attack.eps_255': EPS_255, 'attack.strong.eps_255': EPS_255[1:],
          'attack.sanity.more_steps_eps_255': ()}


def _tiny_config(model: str):
  config = default_config('smoke')
  for dotted, value in _tiny_overrides(model).items():
    section, _, field = dotted.rpartition('.')
    parent = config
    for part in section.split('.'):
      parent = parent[part]
    parent[field] = value
  return config


def _run_own_study(workdir):
  flags = [f'--config.{k}={v!r}' if isinstance(v, tuple) else f'--config.{k}={v}'
           for k, v in _tiny_overrides(OWN_MODEL).items()]
  env = dict(os.environ, PYTHONPATH=str(REPO_ROOT / 'tests'))
  result = subprocess.run(
      [sys.executable, 'main.py', '--config=configs/default.py:smoke',
       f'--workdir={workdir}', *flags],
      cwd=REPO_ROOT, capture_output=True, text=True, env=env, timeout=900)
  assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope='module')
def own_study(tmp_path_factory):
  """A tiny study of OWN_MODEL run through main.py once per session, which the
  tests below only read: one study for both, not one each."""
  return built_once.folder(tmp_path_factory, 'own_model_study', _run_own_study)


def test_a_model_named_by_import_path_runs_through_main(own_study):
  with open(own_study / 'results.csv', newline='') as f:
    rows = list(csv.DictReader(f))
  assert {r['model'] for r in rows} == {OWN_MODEL}
  assert {r['attack'] for r in rows} == {'fgsm', 'pgd', 'ensemble', 'strong'}
  own = registry.get_model(OWN_MODEL, num_classes=2, width=0.5)
  variables = own.init(jax.random.key(0), np.zeros((1, 28, 28, 1), np.float32))
  assert {int(r['params']) for r in rows} == {
      complexity.count_params(variables['params'])}
  pgd = [float(r['accuracy']) for r in rows if r['attack'] == 'pgd']
  assert len(pgd) == len(EPS_255) and all(b <= a for a, b in zip(pgd, pgd[1:]))
  assert 'report.md' in os.listdir(own_study)


@pytest.mark.parametrize('name, why', [
    ('no_such_package.nets:Net', "cannot import 'no_such_package.nets'"),
    ('own_model_nets:Missing', "'own_model_nets' has no 'Missing'"),
    ('own_model_nets:NoWidth', 'it has no field width'),
    ('own_model_nets:jnp', 'it is not a Linen module class'),
])
def test_an_import_path_that_does_not_resolve_is_one_clear_line(name, why):
  with pytest.raises(ConfigError) as error:
    config_validation.validate(_tiny_config(name))
  message = str(error.value)
  assert '\n' not in message and 'model.names' in message and why in message
  assert 'package.module:Name' in message and 'cnn' in message


def test_evaluate_robustness_reproduces_the_studys_rows(own_study, tmp_path):
  # The study above, through main.py; its audit and embedding enter no results
  # row (evaluate_robustness runs neither; test_audit.py and test_embedding.py
  # test them).
  config = _tiny_config(OWN_MODEL)
  (cell,) = cells.expand_cells(config)
  study_rows = atomic_files.read_json(own_study / 'cells' / cell.name / runner.RESULTS_FILE)
  dataset = data_lib.load_dataset(config.data, cell.seed)
  model = registry.get_model(OWN_MODEL, num_classes=dataset.num_classes, width=cell.width)
  # A finished run resumes to its best weights without training again (in a
  # copy: the study stays as main.py left it).
  cell_dir = shutil.copytree(own_study / 'cells' / cell.name, tmp_path / cell.name)
  variables, _ = loop.train_model(model, dataset, config.train, cell.train_mode, cell.seed,
                                  cell_dir)
  own_rows = medadv_jax.evaluate_robustness(
      lambda v, x: model.apply(v, x, train=False), variables, dataset.test_images,
      dataset.test_labels, config.attack, attack_per_class=config.data.attack_per_class,
      seed=cell.seed, label_names=dataset.label_names)
  assert own_rows and len(own_rows) == len(study_rows)
  for own, study in zip(own_rows, study_rows, strict=True):
    assert own == {k: study[k] for k in own}
  assert {'ci_low', 'ci_high', 'sanity_ok', 'clean_test_accuracy'} <= set(own_rows[0])


@pytest.mark.parametrize('name, why', [
    ('own_model_nets:NoTrain', 'a module whose __call__ takes a `train` argument'),
    ('own_model_nets:OneLogit', 'gave outputs of shape (2, 1)'),
    ('own_model_nets:NanAtInit', 'gave non-finite outputs (nan or inf)'),
])
def test_an_imported_model_that_cannot_run_stops_before_the_workdir(tmp_path, name, why):
  workdir = tmp_path / 'study'
  with pytest.raises(ConfigError) as error:
    runner.run_study(_tiny_config(name), workdir)
  message = str(error.value)
  assert '\n' not in message and 'model.names' in message and why in message
  if 'OneLogit' in name:
    assert '(N, 2): one logit per class of the 2' in message
  assert not workdir.exists()
