"""A model built to mask gradients (a quantising first layer and a saturated
output for unnatural images, tests/own_model_nets.py) fails the strong
attack's whole-box check in a tiny study and is kept out of the verdicts with
its reason, while a plain model of the same study is fit and audited."""

import json

import numpy as np
import pytest

from medadv_jax.data.dataset import Dataset
from medadv_jax.data.splits import SplitArrays
from medadv_jax.reporting.tables import fitness_table
from medadv_jax.study import runner
from training_helpers import default_config

PLAIN, MASKING = 'own_model_nets:TinyOwnNet', 'own_model_nets:MaskingNet'


def _smooth_images(n, seed):
  """8x8 images of one grey level each (dark: class 0, bright: class 1) plus faint
  noise: smooth, like natural images next to an attack's stripes and patches."""
  rng = np.random.default_rng(seed)
  labels = (np.arange(n) % 2).astype(np.int32)
  level = rng.uniform(0.2, 0.4, n) + 0.4 * labels
  images = level[:, None, None, None] + rng.normal(0, 0.01, (n, 8, 8, 1))
  return np.clip(images, 0, 1).astype(np.float32), labels


@pytest.fixture()
def smooth_data(monkeypatch):
  train, val, test = _smooth_images(512, 0), _smooth_images(64, 1), _smooth_images(64, 2)
  dataset = Dataset('pneumoniamnist', 'binary', ('dark', 'bright'), *train, *val, *test)
  raw = {name: SplitArrays(np.round(split[0] * 255).astype(np.uint8), split[1])
         for name, split in (('train', train), ('val', val), ('test', test))}
  for loader, fake in (('load_dataset', dataset), ('load_raw_splits', raw)):
    if hasattr(runner, loader):
      monkeypatch.setattr(runner, loader, lambda *a, fake=fake, **kw: fake)


def test_a_gradient_masking_model_is_flagged_and_left_out_of_the_verdicts(
    tmp_path, smooth_data):
  config = default_config('smoke')
  config.model.names, config.model.widths = (PLAIN, MASKING), (1.0,)
  config.train.modes, config.train.epochs = ('standard',), 10
  config.train.learning_rate = 1e-2
  config.fitness.improving_delta = 1.0  # Under-training is not this test's subject.
  config.data.attack_per_class = 8
  config.attack.names, config.attack.targets = ('fgsm', 'pgd'), ('untargeted',)
  config.attack.eps_255 = (0.0, 2.0, 8.0)
  config.attack.strong.eps_255 = (2.0, 8.0)
  config.attack.sanity.more_steps_eps_255 = (8.0,)
  config.attack.audit.images = 8
  rows = runner.run_study(config, tmp_path)
  by_model = {r['model']: r for r in rows}
  masking, plain = by_model[MASKING], by_model[PLAIN]
  # Both separate the classes; only the masking one leaves images at 255/255.
  assert masking['balanced_accuracy'] > 0.85 and plain['balanced_accuracy'] > 0.85
  assert masking['fitness_masks_gradients'] is True and masking['fit'] is False
  assert masking['fitness_reasons'].startswith('masks gradients')
  assert masking['sanity_large_eps'] is False
  assert plain['fitness_masks_gradients'] is False and plain['fit'] is True
  assert not fitness_table.fit_rows([masking])
  report = (tmp_path / 'report.md').read_text()
  assert 'masks gradients' in report
  audit_section = report.split('(audit)')[1].split('## Agreement')[0]
  # Only the plain model enters the audit's analysis: the masking one is unfit.
  assert '| own_model_nets:TinyOwnNet w=1 | standard | ' in audit_section
  assert 'MaskingNet' not in audit_section
  assert "FAB-T's smallest fooling radius" in audit_section
  cells = sorted((tmp_path / 'cells').iterdir())
  timing = [json.loads((c / 'timing.json').read_text()) for c in cells]
  assert all('audit' in t and any(k.startswith('strong_attack/whole_box/') for k in t)
             for t in timing)
  assert all((c / 'audit.json').exists() for c in cells)
