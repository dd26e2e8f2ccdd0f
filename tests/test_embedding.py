"""Penultimate features (evaluation.embedding), the cell's embedding.npz, and the
decision-boundary figure drawn from it (reporting.figures.boundary_figure)."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pytest

from benchmarks.reference_cnn import ReferenceCNN
from medadv_jax import cell_data
from medadv_jax.data.dataset import Dataset
from medadv_jax.evaluation import embedding, examples, robustness
from medadv_jax.models import registry
from medadv_jax.reporting.figures import boundary_figure
from medadv_jax.study import runner
from medadv_jax.training.run_meta import RunMeta
from test_examples import SEED, _config, _setup
from test_study_per_image import _fake_evaluation, fake_training
import test_study_per_image

WIDTH = 0.25

# Family -> (name of the last dense layer's parameters, feature size at WIDTH and 16 px).
FAMILIES = {
    'cnn': ('Dense_1', 16),  # Hidden dense of 64 x width.
    'reference': ('Dense_1', 32),  # Hidden dense of 128 x width.
    'resnet8': ('Dense_0', 16),  # 4x4x(64 x width) pooled to 1x1 at 16 px.
    'resnet18': ('Dense_0', 128),  # Global pool of 512 x width.
    'cbr_large_t': ('Dense_0', 128),
    'own_model_nets:TinyOwnNet': ('Dense_0', 2),  # Imported: global pool of 8 x width.
}


def _model(name):
  if name == 'reference':
    return ReferenceCNN(num_classes=3, width=WIDTH)
  return registry.get_model(name, num_classes=3, width=WIDTH)


@pytest.mark.parametrize('name', sorted(FAMILIES))
def test_features_are_what_the_last_dense_layer_maps_to_the_logits(name):
  model = _model(name)
  images = jax.random.uniform(jax.random.key(0), (3, 16, 16, 1))
  variables = model.init(jax.random.key(1), images, train=False)
  features, logits = embedding.penultimate_features(model, variables, images)
  dense, size = FAMILIES[name]
  assert features.shape == (3, size) and features.dtype == np.float32
  head = variables['params'][dense]
  # An independent forward pass: the full model's logits, rebuilt from the features.
  np.testing.assert_allclose(features @ np.asarray(head['kernel']) + np.asarray(head['bias']),
                             np.asarray(model.apply(variables, images, train=False)),
                             rtol=1e-4, atol=1e-5)
  np.testing.assert_array_equal(logits.shape, (3, 3))


class ConvHead(nn.Module):
  """Logits from a 1x1 convolution and a mean: no dense layer at all."""
  num_classes: int
  width: float = 1.0

  @nn.compact
  def __call__(self, x, train: bool = False):
    return jnp.mean(nn.Conv(self.num_classes, (1, 1))(x), axis=(1, 2))


class DenseThenConv(ConvHead):
  """A dense layer early, but the logits come from elsewhere."""

  @nn.compact
  def __call__(self, x, train: bool = False):
    x = nn.Dense(4)(x)
    return jnp.mean(nn.Conv(self.num_classes, (1, 1))(x), axis=(1, 2))


@pytest.mark.parametrize('module', [ConvHead, DenseThenConv])
def test_a_model_without_a_dense_head_has_no_features_and_no_file(module, tmp_path):
  dataset = _setup(channels=1, num_classes=2, seed=0)[2]
  model = module(num_classes=2)
  variables = model.init(jax.random.key(0), dataset.test_images[:1])
  with pytest.raises(embedding.NoFeaturesError, match='no last nn.Dense'):
    embedding.penultimate_features(model, variables, dataset.test_images[:2])
  path = tmp_path / cell_data.EMBEDDING_FILE
  assert not embedding.write_cell_embedding(path, model, variables, dataset,
                                            _embedding_config(), SEED)
  assert not path.exists()


def _embedding_config(images=6):
  config = _config()
  config.report.embedding_images = images
  config.report.embedding_eps_255 = 3.0  # The grid's nearest: 4 (log scale).
  return config


@pytest.fixture(scope='module')
def linear_embedding(tmp_path_factory):
  """A linear model's embedding.npz: its features are the image minus 1/2, exactly."""
  model, params, dataset, _ = _setup(channels=1, num_classes=2, seed=0)
  path = tmp_path_factory.mktemp('cell') / cell_data.EMBEDDING_FILE
  assert embedding.write_cell_embedding(path, model, params, dataset, _embedding_config(),
                                        SEED)
  return model, params, dataset, cell_data.load_examples(path)


def test_the_stage_stores_the_studys_pgd_images_features_in_the_cell(linear_embedding):
  model, params, dataset, emb = linear_embedding
  assert emb['eps_255'] == 4.0 and str(emb['attack']).startswith('PGD-5')
  x = dataset.test_images[emb['test_indices']]
  np.testing.assert_array_equal(emb['labels'], dataset.test_labels[emb['test_indices']])
  np.testing.assert_allclose(emb['clean_features'], x.reshape(len(x), -1) - 0.5, atol=1e-6)
  # The same images, radius and keys as the gallery's PGD: the same adversarial images.
  ex = examples.compute_examples(model, params, dataset, _embedding_config(), SEED,
                                 radii_255=(4.0,), count=6)
  np.testing.assert_array_equal(ex['test_indices'], emb['test_indices'])
  np.testing.assert_allclose(emb['adv_features'] + 0.5,
                             ex['adv_images'][0].reshape(len(x), -1), atol=1e-6)
  assert np.all(np.abs(emb['adv_features'] - emb['clean_features']) <= 4 / 255 + 1e-6)
  np.testing.assert_array_equal(emb['fooled'], emb['adv_pred'] != emb['labels'])
  np.testing.assert_array_equal(emb['adv_pred'], ex['adv_pred'][0])
  assert np.bincount(emb['labels']).tolist() == [3, 3]  # Classes take turns.


def _synthetic(rng, classes=2, n=30, dim=8):
  """Two far-apart Gaussian clouds per class; adversarial points half-way across."""
  labels = np.arange(n) % classes
  centres = rng.normal(0, 10, (classes, dim))
  clean = centres[labels] + rng.normal(0, 1, (n, dim))
  adv = clean + 0.5 * (centres[(labels + 1) % classes] - centres[labels])
  return dict(clean_features=clean.astype(np.float32), adv_features=adv.astype(np.float32),
              labels=labels.astype(np.int32), fooled=rng.uniform(size=n) < 0.5,
              label_names=np.asarray([f'class {k}' for k in range(classes)]),
              eps_255=np.float64(4.0), attack=np.asarray('PGD-20, untargeted'))


def test_tsne_is_deterministic_and_keeps_separated_classes_apart():
  emb = _synthetic(np.random.default_rng(0))
  points = boundary_figure.embed_2d(emb['clean_features'])
  np.testing.assert_array_equal(points, boundary_figure.embed_2d(emb['clean_features']))
  # 1-nearest neighbour in the plane recovers every class of two distant clouds.
  distances = np.linalg.norm(points[:, None] - points[None], axis=-1)
  np.fill_diagonal(distances, np.inf)
  assert np.all(emb['labels'][np.argmin(distances, axis=1)] == emb['labels'])


@pytest.mark.parametrize('cells', [1, 5])
def test_figure_has_one_panel_per_cell(cells, monkeypatch):
  # The layout alone: a cheap projection stands in for t-SNE (tested above).
  monkeypatch.setattr(boundary_figure, 'embed_2d', lambda features: features[:, :2])
  rng = np.random.default_rng(1)
  fig = boundary_figure.boundary_figure(
      {f'cell {i}': _synthetic(rng, classes=2 + i % 2) for i in range(cells)})
  try:
    assert len(fig.axes) == cells
    assert [ax.get_title().split('\n')[0] for ax in fig.axes] == [
        f'cell {i}' for i in range(cells)]
  finally:
    plt.close(fig)


def test_figure_file_is_the_same_twice_and_skips_cells_without_features(tmp_path):
  rng = np.random.default_rng(2)
  for name in ('a', 'b'):
    cell_data.save_examples(tmp_path / 'cells' / name / cell_data.EMBEDDING_FILE,
                            _synthetic(rng, n=12))
  assert boundary_figure.write_boundary_figure(tmp_path, ['none']) is None
  path = boundary_figure.write_boundary_figure(tmp_path, ['a', 'missing', 'b'])
  first = path.read_bytes()
  assert boundary_figure.write_boundary_figure(tmp_path, ['a', 'b']).read_bytes() == first


def test_a_smoke_study_writes_embeddings_and_the_figure(tmp_path, monkeypatch):
  """run_study with a real (untrained) CNN per cell, the attacks' rows faked."""
  config = test_study_per_image._config()
  config.report.embedding_images = 4
  # fake_training replaces these module attributes.
  get_model, write_embedding = registry.get_model, embedding.write_cell_embedding
  fake_training(monkeypatch)
  monkeypatch.setattr(runner.registry, 'get_model', get_model)
  monkeypatch.setattr(runner, 'train_model', lambda model, dataset, *a, **kw: (
      model.init(jax.random.key(0), dataset.test_images[:1]), RunMeta(best_epoch=1, best_score=0.9)))
  monkeypatch.setattr(runner, 'evaluate', lambda model, *a, **kw: robustness.Evaluation(
      *_fake_evaluation(model.width), audit=None, timing={}))
  monkeypatch.setattr(runner.embedding, 'write_cell_embedding', write_embedding)
  runner.run_study(config, tmp_path)
  for width in config.model.widths:
    emb = cell_data.load_examples(
        tmp_path / 'cells' / f'pneumoniamnist_cnn_w{width:g}_standard_s0' /
        cell_data.EMBEDDING_FILE)
    assert emb['clean_features'].shape == (4, max(1, round(64 * width)))
  assert (tmp_path / boundary_figure.FILE_NAME).read_bytes()[:4] == b'\x89PNG'
  assert 't-SNE of penultimate features' in (tmp_path / 'report.md').read_text()
