"""run_study writes each cell's per_image.json before its results.json (which marks the
cell finished) and the min-eps figure from it; training and attacks are faked, so
this checks the wiring without training anything."""

import importlib.util
import json
import pathlib

import numpy as np

from medadv_jax.data.dataset import Dataset
from medadv_jax.data.splits import SplitArrays
from medadv_jax.evaluation import robustness, sanity
from medadv_jax.study import runner
from medadv_jax.training.run_meta import RunMeta

CONFIG_FILE = pathlib.Path(__file__).resolve().parent.parent / 'configs' / 'default.py'
EPS_255 = (0.0, 1.0, 2.0)


def _config():
  spec = importlib.util.spec_from_file_location('default_config', CONFIG_FILE)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  config = module.get_config('smoke')
  config.model.widths = (0.25, 0.5)
  config.train.modes = ('standard',)
  config.attack.eps_255 = EPS_255
  config.attack.strong.eps_255 = EPS_255[1:]
  return config


def _fake_evaluation(width):
  """Rows and per-image data of a model whose 4 images fall at radius 1, 2, 2 and never;
  the wider model is fooled one radius later."""
  radii = [1.0, 2.0, 2.0, None] if width == 0.25 else [2.0, None, None, None]
  checks = {name: {'ok': True, 'value': 0.0} for name in sanity.CHECKS}
  columns = sanity.as_columns(dict(checks, tolerance=0.03))
  rows = []
  for e in EPS_255:
    acc = sum(r is None or r > e for r in radii) / len(radii)
    rows.append(dict(attack='ensemble', target='any', steps=0, norm='linf', restarts=0,
                     eps_scale=1.0, eps=e / 255, eps_255=e, accuracy=acc, n=4,
                     ci_low=max(0, acc - 0.3), ci_high=min(1, acc + 0.3),
                     accuracy_single_eps=acc, clean_test_accuracy=0.9, clean_test_n=40,
                     **columns))
  per_image = {'eps_255': list(EPS_255), 'test_indices': [0, 1, 2, 3],
               'clean_correct': [True] * 4, 'min_eps_255': {'Ensemble (per image)': radii}}
  return rows, per_image


def fake_training(monkeypatch) -> None:
  """run_study without data, training or attacks: a fake dataset, model, training
  result and `_fake_evaluation`'s rows."""
  images, labels = np.zeros((4, 4, 4, 1), np.float32), np.array([0, 1, 0, 1], np.int32)
  fake_dataset = Dataset('pneumoniamnist', 'binary', ('normal', 'pneumonia'), images,
                         labels, images, labels, images, labels)
  raw = {name: SplitArrays((images * 255).astype(np.uint8), labels)
         for name in ('train', 'val', 'test')}
  # Other engineers change how data is loaded; every loader the runner has is faked.
  for loader, fake in (('load_dataset', fake_dataset), ('load_raw_splits', raw)):
    if hasattr(runner, loader):
      monkeypatch.setattr(runner, loader, lambda *a, fake=fake, **kw: fake)
  monkeypatch.setattr(runner.registry, 'get_model', lambda name, **kw: kw['width'])
  monkeypatch.setattr(runner, 'train_model', lambda model, *a, **kw: (
      {'params': {}}, RunMeta(best_epoch=1, best_score=0.9)))
  monkeypatch.setattr(runner.complexity, 'count_params', lambda params: 100)
  monkeypatch.setattr(runner.complexity, 'forward_flops_per_image', lambda *a: 1e4)
  monkeypatch.setattr(runner, 'evaluate', lambda model, *a, **kw: robustness.Evaluation(
      *_fake_evaluation(model), audit=None, timing={}))
  monkeypatch.setattr(runner.examples, 'write_cell_examples', lambda *a, **kw: None)
  monkeypatch.setattr(runner.embedding, 'write_cell_embedding', lambda *a, **kw: False)


def test_run_study_writes_per_image_json_before_results_json(tmp_path, monkeypatch):
  config = _config()
  fake_training(monkeypatch)
  written = []
  original = runner._write_json_atomic
  monkeypatch.setattr(runner, '_write_json_atomic',
                      lambda path, data: (written.append(path), original(path, data)))

  rows = runner.run_study(config, tmp_path)

  assert len(rows) == 2 * len(EPS_255)
  for cell in ('pneumoniamnist_cnn_w0.25_standard_s0', 'pneumoniamnist_cnn_w0.5_standard_s0'):
    cell_dir = tmp_path / 'cells' / cell
    names = [p.name for p in written if p.parent == cell_dir]
    assert names.index('per_image.json') < names.index('results.json'), names
  per_image = json.loads(
      (tmp_path / 'cells' / 'pneumoniamnist_cnn_w0.25_standard_s0' / 'per_image.json')
      .read_text())
  assert per_image['min_eps_255']['Ensemble (per image)'] == [1.0, 2.0, 2.0, None]
  assert (tmp_path / 'min_eps_distributions.png').read_bytes()[:4] == b'\x89PNG'
  assert "from 2 cells' per_image.json" in (tmp_path / 'report.md').read_text()
