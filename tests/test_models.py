"""Model registry, output shapes, initialisation and BatchNorm semantics."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from medadv_jax.errors import ConfigError
from medadv_jax.models import registry
from medadv_jax.models import resnet_cifar

PAPER_MODELS = ('resnet8', 'resnet20', 'resnet32', 'resnet50', 'cbr_large_t')


def _abstract_variables(model, image_shape):
  """Variable shapes without running (or compiling) the initialisers."""
  init = functools.partial(model.init, train=False)
  return jax.eval_shape(init, jax.random.key(0), jnp.zeros((1, *image_shape)))


def _abstract_logits(model, image_shape, batch=2, train=False):
  variables = _abstract_variables(model, image_shape)
  x = jax.ShapeDtypeStruct((batch, *image_shape), jnp.float32)
  if train:
    apply = functools.partial(model.apply, train=True, mutable=['batch_stats'])
    return jax.eval_shape(apply, variables, x)[0]
  return jax.eval_shape(functools.partial(model.apply, train=False),
                        variables, x)


# --- registry ---------------------------------------------------------------


def test_registry_lists_families_and_paper_presets():
  names = set(registry.available_models())
  assert {'cnn', 'resnet', 'resnet18', 'cbr_tiny', 'cbr_small',
          'cbr_large_w', *PAPER_MODELS} <= names
  assert registry.available_models() == sorted(names)


def test_only_the_resnet_family_has_depth():
  with_depth = [n for n in registry.available_models()
                if registry.model_has_depth(n)]
  assert with_depth == ['resnet']


def test_resnet_depth_is_total_depth_and_defaults_to_20():
  assert registry.get_model('resnet', num_classes=2, depth=32).depth == 32
  assert registry.get_model('resnet', num_classes=2).depth == 20


@pytest.mark.parametrize('depth', [20, 32])
def test_presets_equal_the_family_at_their_depth(depth):
  preset = registry.get_model(f'resnet{depth}', num_classes=2, width=0.5)
  family = registry.get_model('resnet', num_classes=2, width=0.5, depth=depth)
  shapes = [jax.tree_util.tree_map(lambda a: a.shape,
                                   _abstract_variables(m, (32, 32, 3)))
            for m in (preset, family)]
  assert shapes[0] == shapes[1]


@pytest.mark.parametrize('kwargs, field', [
    (dict(name='vgg', num_classes=2), 'model.name'),
    (dict(name='cnn', num_classes=2, depth=20), 'model.depths'),
    (dict(name='resnet20', num_classes=2, depth=20), 'model.depths'),
    (dict(name='resnet', num_classes=2, depth=21), 'model.depths'),
    (dict(name='resnet', num_classes=2, depth=2), 'model.depths'),
    (dict(name='resnet', num_classes=2, depth=20.0), 'model.depths'),
    (dict(name='resnet', num_classes=2, depth=True), 'model.depths'),
    (dict(name='cbr_tiny', num_classes=2, width=0.0), 'model.widths'),
    (dict(name='resnet', num_classes=2, width=-1.0), 'model.widths'),
    (dict(name='resnet', num_classes=2, width='2'), 'model.widths'),
])
def test_bad_model_config_names_the_field(kwargs, field):
  name = kwargs.pop('name')
  with pytest.raises(ConfigError) as info:
    registry.get_model(name, **kwargs)
  assert info.value.field == field


def test_unknown_name_error_lists_the_choices():
  with pytest.raises(ConfigError, match='resnet20'):
    registry.get_model('resnet-20', num_classes=2, field='model.names')


def test_valid_resnet_depths_are_6n_plus_2():
  valid = [d for d in range(60) if resnet_cifar.is_valid_depth(d)]
  assert valid == [8, 14, 20, 26, 32, 38, 44, 50, 56]


# --- shapes and dtypes ------------------------------------------------------


@pytest.mark.parametrize('name', registry.available_models())
@pytest.mark.parametrize('train', [False, True])
def test_logits_shape_and_dtype(name, train):
  model = registry.get_model(name, num_classes=3, width=0.25)
  logits = _abstract_logits(model, (64, 64, 3), batch=2, train=train)
  assert logits.shape == (2, 3)
  assert logits.dtype == jnp.float32


@pytest.mark.parametrize('size', [28, 32, 64, 224])
def test_resnet_accepts_medmnist_to_paper_sizes(size):
  # Below 32 px the Keras head's 8x8 pool would not fit; it shrinks instead.
  model = registry.get_model('resnet8', num_classes=2, width=0.25)
  assert _abstract_logits(model, (size, size, 3)).shape == (2, 2)


# --- real initialisation and BatchNorm (one tiny model, compiled once) ------


def _compile(fn, *args):
  """`jit` without LLVM optimisation: these tests check values, not speed,
  and full optimisation makes each truncated-normal initialiser cost seconds
  to compile on a CI CPU."""
  options = {'xla_backend_optimization_level': 0}
  return jax.jit(fn).lower(*args).compile(compiler_options=options)


@pytest.fixture(scope='module')
def tiny():
  """ResNet-8 at width 0.25 (4/8/16 filters) on 16x16 inputs, 3 classes."""
  model = registry.get_model('resnet8', num_classes=3, width=0.25)
  x = jax.random.uniform(jax.random.key(42), (4, 16, 16, 3))
  init = _compile(functools.partial(model.init, train=False),
                  jax.random.key(0), x)
  return model, init, x


def test_same_seed_same_parameters_other_seed_different(tiny):
  model, init, x = tiny
  a, b, c = (init(jax.random.key(s), x) for s in (0, 0, 1))
  leaves = [jax.tree_util.tree_leaves(v['params']) for v in (a, b, c)]
  assert all(np.array_equal(u, v) for u, v in zip(leaves[0], leaves[1]))
  assert not all(np.array_equal(u, w) for u, w in zip(leaves[0], leaves[2]))


def test_conv_kernels_are_he_normal(tiny):
  model, init, x = tiny
  params = init(jax.random.key(0), x)['params']
  # The last 3x3 conv of stage 3: 3*3*16 inputs, 16*144 = 2304 samples.
  kernel = [v for v in jax.tree_util.tree_leaves(params) if v.ndim == 4][-1]
  fan_in = np.prod(kernel.shape[:-1])
  assert kernel.shape == (3, 3, 16, 16)
  np.testing.assert_allclose(np.std(kernel), np.sqrt(2.0 / fan_in), rtol=0.1)


def test_eval_uses_running_stats_and_train_uses_batch_stats(tiny):
  model, init, x = tiny
  variables = init(jax.random.key(0), x)
  shifted = dict(variables, batch_stats=jax.tree_util.tree_map(
      lambda s: s + 1.0, variables['batch_stats']))
  eval_fn = _compile(lambda v, x: model.apply(v, x, train=False),
                     variables, x)
  train_fn = _compile(
      lambda v, x: model.apply(v, x, train=True, mutable=['batch_stats']),
      variables, x)

  assert not np.allclose(eval_fn(variables, x), eval_fn(shifted, x))
  (logits, updates), (logits_shifted, _) = (train_fn(variables, x),
                                             train_fn(shifted, x))
  np.testing.assert_allclose(logits, logits_shifted, rtol=1e-6, atol=1e-6)
  # Training moves the running statistics towards the batch's.
  moved = jax.tree_util.tree_map(lambda a, b: not np.allclose(a, b),
                                 updates['batch_stats'],
                                 variables['batch_stats'])
  assert all(jax.tree_util.tree_leaves(moved))
