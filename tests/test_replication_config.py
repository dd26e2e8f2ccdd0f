"""configs/replication.py: the seven studies the replication runs, its arg parsing, and
launch/replication.sh's wiring of the plan's secondary family."""

import pathlib
import shlex
import subprocess

import jax
import jax.numpy as jnp
import pytest

from configs import default, replication
from medadv_jax.models import complexity, registry
from medadv_jax.reporting.claims import secondary_family
from medadv_jax.study import config_validation

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Spelled out here, not read from the config: the plan's seven studies.
SEVEN = ('pneumonia_width', 'breast_width', 'retina_width', 'breast64_width',
         'pneumonia_depth', 'breast_depth', 'retina_depth')


def _config(study):
  dataset, family = study.rsplit('_', 1)
  return replication.get_config(f'dataset={dataset},family={family}')


@pytest.mark.parametrize('study', SEVEN)
def test_every_study_is_valid_pooled_and_on_the_papers_grid(study):
  config = _config(study)
  config_validation.validate(config)
  assert config.data.split == 'pooled'
  assert config.data.size == (64 if study.startswith('breast64') else 28)
  assert config.attack.eps_255 == default.PAPER_EPS_255
  assert 'pgd' in config.attack.names and config.attack.strong.eps_255
  assert config.train.min_steps > 0  # Trained to the validation plateau.
  assert len(config.seeds) >= 5  # Both families.


def test_the_launcher_runs_the_seven_studies():
  assert replication.STUDIES == SEVEN
  # The script takes its list from the config (with no arguments); print it, run nothing.
  listed = subprocess.run(
      ['bash', str(ROOT / 'launch' / 'replication.sh'), '--list'], capture_output=True,
      text=True, check=True, cwd=ROOT).stdout.split()
  assert tuple(listed) == SEVEN


def test_the_resolution_arm_is_breasts_width_family_at_64_px_beside_28():
  at_64, at_28 = _config('breast64_width'), _config('breast_width')
  assert at_64.data.name == at_28.data.name == 'breastmnist'
  assert (at_64.data.size, at_28.data.size) == (64, 28)
  # Everything else the same: only the image size moves.
  at_64.data.size = 28
  assert at_64.to_json_best_effort() == at_28.to_json_best_effort()


def _params(name, width, size=28):
  model = registry.get_model(name, num_classes=2, width=width, depth=None)
  variables = model.init(jax.random.PRNGKey(0), jnp.zeros((1, size, size, 1)), train=False)
  return complexity.count_params(variables['params'])


def test_width_family_spans_30x_in_parameters_with_5_seeds_and_pgd():
  config = replication.get_config('dataset=pneumonia,family=width')
  params = [_params('cnn', w) for w in config.model.widths]
  assert len(params) >= 4 and params == sorted(params) and params[-1] >= 30 * params[0]
  assert len(config.seeds) >= 5 and config.train.modes == ('standard', 'pgd')
  # The CNN's global pool: the same models at 64 px.
  assert [_params('cnn', w, 64) for w in config.model.widths] == params


def test_depth_family_is_the_papers_models_with_5_seeds():
  config = replication.get_config('dataset=retina,family=depth')
  assert set(config.model.names) == {'resnet8', 'resnet20', 'resnet32', 'resnet50',
                                     'cbr_large_t'}
  params = [_params(name, replication.DEPTH_WIDTH) for name in config.model.names]
  assert params[:4] == sorted(params[:4]) and params[3] >= 5 * params[0]
  assert config.model.widths == (replication.DEPTH_WIDTH,) and len(config.seeds) >= 5
  assert config.data.name == 'retinamnist'
  assert config.data.attack_per_class == replication.DEPTH_ATTACK_PER_CLASS
  # The width family keeps the default's attacked images.
  assert (replication.get_config('dataset=retina,family=width').data.attack_per_class
          == default.get_config().data.attack_per_class)


@pytest.mark.parametrize('arg, message', [
    ('dataset=xray,family=width', "dataset='xray'"),
    ('dataset=breast', 'family=None'),
    ('dataset=breast,family=paper', "family='paper'"),
    ('dataset=breast,family=width,seeds=3', "unknown key 'seeds'"),
    ('dataset=breast32,family=width', "'breast64'"),
])
def test_bad_arg_names_the_key_and_allowed_values(arg, message):
  with pytest.raises(ValueError, match=message):
    replication.get_config(arg)


@pytest.mark.parametrize('study', replication.STUDIES)
def test_every_study_runs_under_the_plan_docs_replication_plan_md_fixes(study):
  """Changing these values changes the committed plan: a new, named plan instead."""
  dataset, family = study.rsplit('_', 1)
  config = replication.get_config(f'dataset={dataset},family={family}')
  a = config.analysis
  assert (a.name, a.min_seeds, a.min_sizes, a.alpha) == ('replication', 5, 3, 0.05)
  assert tuple(config.seeds) == (0, 1, 2, 3, 4) and a.models == ()
  assert (a.size.endpoint, a.size.mode, tuple(a.size.band_255), a.size.floor,
          a.size.margin) == ('robust_slope', 'standard', (0.5, 4.0), 0.05, 0.01)
  assert (a.training.mode, a.training.baseline, tuple(a.training.band_255),
          a.training.margin, a.training.holm) == ('pgd', 'standard', (0.5, 4.0), 0.03, 'sizes')
  assert (a.exclusion, a.cross_study_holm) == ('out_with_sensitivity', 'claims_and_studies')
  assert config.data.attack_per_class == (50 if family == 'width' else 15)
  assert (config.attack.audit.images, config.attack.audit.square_queries) == (16, 1000)
  assert (config.attack.strong.apgd_steps, config.attack.strong.apgd_restarts,
          config.attack.strong.square_queries) == (100, 5, 300)
  assert 'plan fixed' in (ROOT / 'docs' / 'replication' / 'PLAN.md').read_text()


def _run_script(root: pathlib.Path, *studies) -> tuple[list[list[str]], str]:
  """launch/replication.sh copied into `root`, run with a `python` that only logs
  its arguments: (the commands it would run, as argument lists, its stdout)."""
  (root / 'launch').mkdir(exist_ok=True)
  (root / 'launch' / 'replication.sh').write_text(
      (ROOT / 'launch' / 'replication.sh').read_text())
  (root / 'bin').mkdir(exist_ok=True)
  fake = root / 'bin' / 'python'
  fake.write_text('#!/bin/sh\nprintf "%s\\t" "$@" >> "$LOG"\necho >> "$LOG"\n')
  fake.chmod(0o755)
  log = root / 'log.txt'
  log.write_text('')
  done = subprocess.run(
      ['bash', str(root / 'launch' / 'replication.sh'), *studies], capture_output=True,
      text=True, check=True, env={'PATH': f'{root / "bin"}:/usr/bin:/bin', 'LOG': str(log)})
  return [line.rstrip('\t').split('\t') for line in log.read_text().splitlines()], done.stdout


def test_the_launcher_answers_the_secondary_family_once_all_its_studies_are_published(
    tmp_path):
  published = tmp_path / 'docs' / 'replication'
  commands, stdout = _run_script(tmp_path, 'breast_depth')
  # Round 1's folders (no cells.json.gz) are not answered again; no family yet.
  assert [c[0] for c in commands] == [
      'launch/local_sweep.py', 'launch/publish_study.py', 'launch/cross_study.py']
  assert not any(a.startswith('--secondary') for a in commands[-1])
  assert ('not computed until pneumonia_depth breast_depth retina_depth breast64_width '
          'breast_width are published') in stdout
  for study in ('pneumonia_depth', 'breast_depth', 'retina_depth', 'breast64_width',
                'breast_width'):
    (published / study).mkdir(parents=True)
    (published / study / 'cells.json.gz').write_bytes(b'')
  answered = published / 'pneumonia_depth' / 'analyses' / 'resnets'
  answered.mkdir(parents=True)
  (answered / 'report.md').write_text('answered')
  commands, _ = _run_script(tmp_path, 'breast_depth')
  # PLAN.md's command, on each depth study not yet answered in this publication.
  plan = ' '.join((ROOT / 'docs' / 'replication' / 'PLAN.md').read_text().split())
  planned = shlex.split(plan.split('`launch/reanalyse.py ')[1].split('`')[0])
  reanalyses = [c for c in commands if c[0] == 'launch/reanalyse.py']
  assert reanalyses == [
      ['launch/reanalyse.py', planned[0].replace('dataset=D', f'dataset={dataset}'),
       f'--workdir=docs/replication/{dataset}_depth', *planned[1:]]
      for dataset in ('breast', 'retina')]
  folders = ','.join(f'docs/replication/{s}_depth/analyses/resnets'
                     for s in ('pneumonia', 'breast', 'retina'))
  assert commands[-1][-3:] == [
      '--contrasts=breast64_width:breast_width', f'--secondary={folders}',
      '--secondary_readme=docs/replication/README.md']
  # Where the table goes has its markers, so the last step cannot fail after the studies.
  text = (ROOT / 'docs' / 'replication' / 'README.md').read_text()
  assert secondary_family.TABLE_START in text and secondary_family.TABLE_END in text
