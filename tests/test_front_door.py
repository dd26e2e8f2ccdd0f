"""`medadv_jax.evaluate_robustness` refuses, before any work and in one line
naming the argument, what it cannot read correctly (issue 30, item 2): one-hot or
float labels, a model with the wrong number of outputs, probabilities for
logits, NCHW or unscaled images."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import medadv_jax
from medadv_jax.errors import ArgumentError
from medadv_jax.evaluation import robustness
from training_helpers import default_config

N = 16
LABELS = np.array([0, 1] * (N // 2), np.int32)
IMAGES = np.clip(np.random.default_rng(0).uniform(0, 0.4, (N, 6, 6, 1))
                 + 0.4 * LABELS[:, None, None, None], 0, 1).astype(np.float32)
VARIABLES = {'scale': jnp.array(20.0)}


def _logits(variables, images):
  """Two logits separating the classes by mean brightness."""
  score = variables['scale'] * (images.mean(axis=(1, 2, 3)) - 0.5)
  return jnp.stack([-score, score], axis=1)


def _attack_config():
  config = default_config('smoke').attack
  config.eps_255, config.names, config.targets = (0.0, 8.0, 64.0), ('fgsm',), ('untargeted',)
  config.sanity.more_steps_eps_255, config.strong.eps_255 = (), ()
  config.sanity.certificate_sample = 0
  return config


@pytest.fixture
def no_work(monkeypatch):
  """Fails the test if the evaluation starts: every refusal comes before it."""
  def started(*args, **kwargs):
    raise AssertionError('the evaluation ran')
  monkeypatch.setattr(robustness, 'evaluate_model', started)


def _refused(argument, *args, **kwargs):
  """The one-line message of evaluate_robustness refusing `argument`."""
  with pytest.raises(ArgumentError) as error:
    medadv_jax.evaluate_robustness(*args, **kwargs)
  message = str(error.value)
  assert '\n' not in message and message.startswith(f'argument `{argument}`: ')
  return message


@pytest.mark.parametrize('labels, seen', [
    (np.eye(2, dtype=np.int32)[LABELS], 'int32 labels of shape (16, 2)'),
    (LABELS.astype(np.float32), 'float32 labels of shape (16,)'),
    (LABELS[:-1], 'labels of shape (15,)'),
    (-LABELS, 'int32 labels of shape (16,)'),
])
def test_labels_other_than_class_indices_are_refused(no_work, labels, seen):
  message = _refused('labels', _logits, VARIABLES, IMAGES, labels, _attack_config())
  assert seen in message and 'integer class indices >= 0 of shape (16,)' in message
  assert 'multi_label=True' in message
  if labels.ndim == 2:
    assert 'one-hot: labels.argmax(1)' in message


def test_multi_label_needs_zero_one_findings(no_work):
  message = _refused('labels', _logits, VARIABLES, IMAGES, LABELS, _attack_config(),
                     multi_label=True)
  assert 'of shape (16,)' in message and '0/1 findings of shape (16, L)' in message


def test_a_binary_model_with_one_logit_is_refused(no_work):
  one_logit = lambda v, x: _logits(v, x)[:, 1:]
  message = _refused('apply_fn', one_logit, VARIABLES, IMAGES, LABELS, _attack_config())
  assert 'outputs of shape (8, 1)' in message and '(N, 2)' in message
  assert 'a binary task too: 2 logits, not 1' in message


def test_more_outputs_than_classes_are_refused(no_work):
  three = lambda v, x: jnp.concatenate([_logits(v, x), _logits(v, x)[:, :1]], axis=1)
  message = _refused('apply_fn', three, VARIABLES, IMAGES, LABELS, _attack_config())
  assert 'outputs of shape (8, 3)' in message and 'one logit per class of the 2' in message


def test_probabilities_are_refused_unless_declared(no_work):
  softmax = lambda v, x: jax.nn.softmax(_logits(v, x))
  message = _refused('apply_fn', softmax, VARIABLES, IMAGES, LABELS, _attack_config())
  assert 'sum to 1 (probabilities)' in message and "outputs='probabilities'" in message


def test_non_finite_outputs_are_refused(no_work):
  message = _refused('apply_fn', lambda v, x: _logits(v, x) * jnp.nan, VARIABLES, IMAGES,
                     LABELS, _attack_config())
  assert 'non-finite outputs' in message


@pytest.mark.parametrize('images, seen, allowed', [
    (IMAGES.transpose(0, 3, 1, 2), 'shape (16, 1, 6, 6), channels second (NCHW)',
     'NHWC images (N, H, W, C), channels last: images.transpose(0, 2, 3, 1)'),
    ((IMAGES * 255).astype(np.uint8), 'uint8 images', 'float images in [0, 1]'),
    (IMAGES * 255, 'pixels spanning [0.279327, 203.391]', 'pixels in [0, 1]'),
    (IMAGES[..., 0], 'images of shape (16, 6, 6)', 'NHWC images (N, H, W, C)'),
])
def test_images_other_than_nhwc_in_the_unit_box_are_refused(no_work, images, seen, allowed):
  message = _refused('images', _logits, VARIABLES, images, LABELS, _attack_config())
  assert seen in message and allowed in message


def test_declared_probabilities_are_attacked_as_their_logarithms():
  softmax = lambda v, x: jax.nn.softmax(_logits(v, x))
  config = _attack_config()
  from_logits = medadv_jax.evaluate_robustness(_logits, VARIABLES, IMAGES, LABELS, config)
  from_probabilities = medadv_jax.evaluate_robustness(
      softmax, VARIABLES, IMAGES, LABELS, config, outputs='probabilities')
  accuracy = lambda rows: [(r['attack'], r['eps_255'], r['accuracy']) for r in rows]
  assert accuracy(from_probabilities) == accuracy(from_logits)
  # The radii span a model that is robust at first and fooled at the end.
  pgd = [r['accuracy'] for r in from_logits if r['attack'] == 'fgsm']
  assert pgd[0] == 1 and pgd[-1] < 0.5
