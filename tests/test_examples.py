"""Example images and saliency of one model (evaluation.examples) and their figures
(reporting.example_figures), on hand-built linear models whose gradients are known."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
import pytest

from medadv_jax import cell_data
from medadv_jax.attacks import eps_grid, registry
from medadv_jax.data.dataset import attack_subset, Dataset
from medadv_jax.errors import ConfigError
from medadv_jax.evaluation import examples
from medadv_jax.models.eval_apply import EvalApply
from medadv_jax.reporting.figures import example_figures
from training_helpers import default_config

SEED = 3


class Linear(nn.Module):
  """logits = (x - 1/2) W + b on the flattened image: d z_k / d x = W[:, k] exactly."""
  num_classes: int

  @nn.compact
  def __call__(self, x, train: bool = False):
    del train  # Same in both modes; the argument is the models' interface.
    return nn.Dense(self.num_classes)(x.reshape(x.shape[0], -1) - 0.5)


def _config():
  config = default_config()
  config.data.attack_per_class = 5
  config.attack.eps_255 = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
  config.attack.pgd_steps = 5  # A small program; the attack's own tests cover PGD.
  return config


def _setup(channels: int, num_classes: int, seed: int):
  """A linear model with hand-set weights and a dataset it mostly gets right."""
  shape = (6, 6, channels)
  rng = np.random.default_rng(seed)
  w = rng.normal(0, 3.0, (int(np.prod(shape)), num_classes)).astype(np.float32)
  model = Linear(num_classes)
  params = {'params': {'Dense_0': {'kernel': jnp.asarray(w),
                                   'bias': jnp.zeros(num_classes)}}}
  images = rng.uniform(0, 1, (90, *shape)).astype(np.float32)
  labels = np.argmax(np.asarray(EvalApply(model)(params, images)), -1).astype(np.int32)
  labels[::6] = (labels[::6] + 1) % num_classes  # Some images the model gets wrong.
  assert np.bincount(labels).min() >= 5
  names = tuple(f'class {k}' for k in range(num_classes))
  dataset = Dataset('toy', 'binary' if num_classes == 2 else 'multi-class', names,
                    images, labels, images, labels, images, labels)
  return model, params, dataset, w


@pytest.fixture(scope='module')
def grey():
  model, params, dataset, w = _setup(channels=1, num_classes=2, seed=0)
  ex = examples.compute_examples(model, params, dataset, _config(), SEED)
  return model, params, dataset, w, ex


@pytest.fixture(scope='module')
def rgb():
  model, params, dataset, w = _setup(channels=3, num_classes=3, seed=1)
  ex = examples.compute_examples(model, params, dataset, _config(), SEED, count=3)
  return model, params, dataset, w, ex


def test_saliency_of_a_linear_model_is_the_true_class_weights(grey, rgb):
  for _, _, dataset, w, ex in (grey, rgb):
    # |d z_y / d x| = |W[:, y]|, reshaped to the image, max over channels.
    expected = np.abs(w[:, ex['labels']].T.reshape(-1, *dataset.image_shape)).max(-1)
    np.testing.assert_array_equal(ex['saliency'], expected)


def test_shapes_radii_and_labels(grey, rgb):
  _, _, dataset, _, ex = grey
  np.testing.assert_array_equal(ex['radii_255'], [2.0, 8.0])
  assert ex['adv_images'].shape == (2, 4, 6, 6, 1)
  assert ex['saliency'].shape == (4, 6, 6) and ex['adv_pred'].shape == (2, 4)
  np.testing.assert_array_equal(ex['images'], dataset.test_images[ex['test_indices']])
  np.testing.assert_array_equal(ex['labels'], dataset.test_labels[ex['test_indices']])
  assert list(ex['label_names']) == ['class 0', 'class 1']
  assert str(ex['attack']) == 'PGD-5, untargeted'
  assert rgb[4]['adv_images'].shape == (2, 3, 6, 6, 3)


def test_adversarial_images_stay_in_the_ball_and_the_box(grey, rgb):
  for ex in (grey[4], rgb[4]):
    eps = ex['radii_255'][:, None, None, None, None] / 255.0
    np.testing.assert_array_equal(ex['perturbations'], ex['adv_images'] - ex['images'][None])
    assert np.all(np.abs(ex['perturbations']) <= eps + 1e-6)
    assert ex['adv_images'].min() >= 0.0 and ex['adv_images'].max() <= 1.0
    # The attack moved the images: the gallery does not show clean copies.
    assert np.all(np.abs(ex['perturbations']).max(axis=(2, 3, 4)) > 0.5 * eps[:, :, 0, 0, 0])


def test_predictions_are_the_models_on_the_stored_images(grey, rgb):
  for model, params, _, _, ex in (grey, rgb):
    apply = EvalApply(model)
    for images, pred, prob in [(ex['images'], ex['clean_pred'], ex['clean_prob'])] + [
        (ex['adv_images'][r], ex['adv_pred'][r], ex['adv_prob'][r])
        for r in range(ex['radii_255'].size)]:
      probs = np.asarray(jax.nn.softmax(apply(params, images)))
      np.testing.assert_array_equal(pred, probs.argmax(-1))
      np.testing.assert_allclose(prob, probs.max(-1), rtol=1e-6)


def test_adversarial_verdicts_are_the_studys_pgd_verdicts(grey):
  model, params, dataset, _, ex = grey
  config = _config()
  spec = examples.pgd_spec(config.attack)
  subset = attack_subset(dataset.test_labels, config.data.attack_per_class, SEED)
  verdict = eps_grid.evaluate_over_eps(
      spec, EvalApply(model), params, dataset.test_images[subset],
      dataset.test_labels[subset], ex['radii_255'] / 255.0,
      registry.attack_key(SEED, spec), 64)
  positions = np.searchsorted(subset, ex['test_indices'])
  clean_right = ex['clean_pred'] == ex['labels']
  assert clean_right.any() and not np.all(ex['adv_pred'][:, clean_right] ==
                                          ex['labels'][clean_right])  # Both outcomes.
  # The study never attacks an image the model gets wrong clean; compare the others.
  np.testing.assert_array_equal(verdict[:, positions][:, clean_right],
                                (ex['adv_pred'] == ex['labels'])[:, clean_right])
  # The images themselves: the study attacks subset image i with key fold_in(key, i)
  # (`eps_grid.evaluate_over_eps`), whichever other images share its batch.
  keys = eps_grid.keys_of(registry.attack_key(SEED, spec),
                          jnp.arange(subset.size))
  attack = jax.jit(lambda x, y, eps: spec(lambda v: EvalApply(model)(params, v), x, y,
                                          eps, keys))
  for r, eps_255 in enumerate(ex['radii_255']):
    study_adv = attack(dataset.test_images[subset], dataset.test_labels[subset],
                       np.float32(eps_255 / 255.0))
    np.testing.assert_allclose(ex['adv_images'][r], np.asarray(study_adv)[positions],
                               atol=1e-6)


def test_same_seed_same_arrays_and_the_images_do_not_depend_on_the_model(grey):
  model, params, dataset, w, ex = grey
  again = examples.compute_examples(model, params, dataset, _config(), SEED)
  assert again.keys() == ex.keys()
  for name in ex:
    np.testing.assert_array_equal(again[name], ex[name])
  other_params = jax.tree_util.tree_map(lambda p: -p, params)
  other = examples.compute_examples(model, other_params, dataset, _config(), SEED)
  np.testing.assert_array_equal(other['test_indices'], ex['test_indices'])
  assert not np.array_equal(other['clean_pred'], ex['clean_pred'])
  other_seed = examples.compute_examples(model, params, dataset, _config(), SEED + 1)
  assert not np.array_equal(other_seed['test_indices'], ex['test_indices'])


def test_positions_take_classes_in_turn_from_the_attack_subset():
  labels = np.array([0] * 10 + [1] * 3 + [2] * 7, np.int32)
  positions, indices = examples.example_positions(labels, per_class=4, seed=5, count=9)
  subset = attack_subset(labels, 4, 5)
  np.testing.assert_array_equal(subset[positions], indices)
  assert len(set(indices.tolist())) == 9
  # Three turns; class 1 has only 3 images in the subset, so all 3 appear.
  np.testing.assert_array_equal(labels[indices], [0, 1, 2, 0, 1, 2, 0, 1, 2])
  _, few = examples.example_positions(labels[:12], per_class=1, seed=5, count=4)
  np.testing.assert_array_equal(labels[few], [0, 1])  # The subset runs out first.


def test_radii_are_the_grid_values_nearest_on_a_log_scale():
  np.testing.assert_array_equal(examples.choose_radii_255((0, 0.5, 1, 3, 10)), [3, 10])
  np.testing.assert_array_equal(examples.choose_radii_255((0, 64), (2, 8)), [64])
  np.testing.assert_array_equal(
      examples.choose_radii_255(default_config().attack.eps_255), [2, 8])
  with pytest.raises(ConfigError, match='attack.eps_255'):
    examples.choose_radii_255((0.0,))


def test_explicit_radii_are_used_and_must_be_positive(grey):
  model, params, dataset, _, _ = grey
  # Two radii and four images, as the fixture: the compiled program is reused.
  ex = examples.compute_examples(model, params, dataset, _config(), SEED,
                                 radii_255=(3.0, 5.0))
  np.testing.assert_array_equal(ex['radii_255'], [3.0, 5.0])
  eps = np.array([3.0, 5.0])[:, None, None, None, None] / 255.0
  assert np.all(np.abs(ex['perturbations']) <= eps + 1e-6)
  with pytest.raises(ValueError, match='positive'):
    examples.compute_examples(model, params, dataset, _config(), SEED, radii_255=(0.0,))


def test_npz_round_trip_keeps_names_dtypes_and_values(grey, tmp_path):
  ex = grey[4]
  path = tmp_path / 'cell' / cell_data.EXAMPLES_FILE
  cell_data.save_examples(path, ex)
  loaded = cell_data.load_examples(path)
  assert loaded.keys() == ex.keys()
  for name, value in ex.items():
    assert loaded[name].dtype == np.asarray(value).dtype, name
    np.testing.assert_array_equal(loaded[name], value)
  assert [p.name for p in path.parent.iterdir()] == [cell_data.EXAMPLES_FILE]  # No temp file.


def test_multi_label_data_writes_no_examples(tmp_path):
  images = np.zeros((4, 6, 6, 1), np.float32)
  labels = np.zeros((4, 3), np.int32)
  dataset = Dataset('toy', 'multi-label', ('a', 'b', 'c'), images, labels, images, labels,
                    images, labels)
  path = tmp_path / cell_data.EXAMPLES_FILE
  assert not examples.write_cell_examples(path, Linear(3), None, dataset, _config(), 0)
  assert not path.exists()


def test_figures_have_a_panel_per_image_and_radius_and_skip_missing_cells(
    grey, rgb, tmp_path):
  for name, ex in (('toy_grey', grey[4]), ('toy_rgb', rgb[4])):
    cell_data.save_examples(tmp_path / 'cells' / name / cell_data.EXAMPLES_FILE, ex)
  paths = example_figures.write_example_figures(tmp_path, ['toy_grey', 'absent', 'toy_rgb'])
  assert [p.name for p in paths] == ['adversarial_gallery.png', 'saliency_maps.png']
  for path in paths:
    assert mpimg.imread(path).ndim == 3
  found = {n: cell_data.load_examples(tmp_path / 'cells' / n / cell_data.EXAMPLES_FILE)
           for n in ('toy_grey', 'toy_rgb')}
  gallery = example_figures.gallery_figure(found)
  # 4 grey and 3 RGB images, each: clean + (perturbation, adversarial) x 2 radii.
  assert len(gallery.axes) == (4 + 3) * 5
  ex = grey[4]
  title = gallery.axes[0].get_title()
  assert f'true: class {ex["labels"][0]}' in title
  assert f'pred: class {ex["clean_pred"][0]} ({ex["clean_prob"][0]:.2f})' in title
  saliency = example_figures.saliency_figure(found)
  assert len(saliency.axes) == 2 * 4 + 2 * 3  # Image and overlay per image.
  assert 'max' in saliency.axes[1].get_title()
  plt.close(gallery)
  plt.close(saliency)


def test_no_examples_no_figures(tmp_path):
  assert example_figures.write_example_figures(tmp_path, ['a', 'b']) == []
  assert example_figures.write_example_figures(tmp_path, []) == []
  assert not list(tmp_path.iterdir())


def test_representative_cells_are_smallest_and_largest_per_mode_of_first_seed():
  rows = [dict(dataset='toy', model='cnn', width=w, depth=None, train_mode=mode, seed=s,
               params=p, attack='pgd')
          for s in (0, 1) for mode in ('pgd', 'standard')
          for w, p in ((1.0, 4000), (0.25, 300), (0.5, 1000)) for _ in range(2)]
  assert example_figures.representative_cells(rows) == [
      'toy_cnn_w0.25_standard_s0', 'toy_cnn_w1_standard_s0',
      'toy_cnn_w0.25_pgd_s0', 'toy_cnn_w1_pgd_s0']
  one_size = [r for r in rows if r['width'] == 0.5]
  assert example_figures.representative_cells(one_size) == [
      'toy_cnn_w0.5_standard_s0', 'toy_cnn_w0.5_pgd_s0']
  assert example_figures.representative_cells([]) == []
