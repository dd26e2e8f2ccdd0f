"""The audit through the production path (`robustness.evaluate`) on a linear model,
whose smallest fooling L-inf radius of each image is known in closed form: a
deliberately weak study (one PGD step of 0.1 eps) leaves exactly the images
with radius in (0.1 eps, eps] robust that the audit must fool; every size of a
seed is audited on the same draw of images."""

import flax.linen as nn
import jax.numpy as jnp
import numpy as np
import pytest

from medadv_jax.attacks import min_eps
from medadv_jax.data.dataset import Dataset
from medadv_jax.errors import ConfigError
from medadv_jax.evaluation import audit, robustness
from medadv_jax.study import config_validation
from training_helpers import default_config

EPS_255 = (0.0, 2.0, 4.0, 8.0, 16.0, 32.0)
AUDIT_255 = (4.0, 8.0, 16.0)
SHAPE = (4, 4, 1)


class Linear(nn.Module):
  num_classes: int = 2

  @nn.compact
  def __call__(self, x, train: bool = False):
    return nn.Dense(self.num_classes)(x.reshape(x.shape[0], -1))


def _variables(seed):
  """Logits w_k . (x - 0.5): the margin is zero at the grey image."""
  kernel = np.random.default_rng(seed).normal(size=(16, 2)).astype(np.float32)
  return {'params': {'Dense_0': {'kernel': kernel, 'bias': -0.5 * kernel.sum(0)}}}


@pytest.fixture(scope='module')
def case():
  """(variables, dataset, closed-form radii x 255) of a linear model, labels = its predictions."""
  variables = _variables(0)
  kernel = variables['params']['Dense_0']['kernel']
  # Centred so that the radii spread over the grid; inside [0.3, 0.7] the box never binds.
  x = np.random.default_rng(1).uniform(0.3, 0.7, (160, *SHAPE)).astype(np.float32)
  g = kernel[:, 0] - kernel[:, 1]
  margin = (x.reshape(160, -1) - 0.5) @ g
  labels = (margin < 0).astype(np.int32)
  radius_255 = np.abs(margin) / np.abs(g).sum() * 255.0
  dataset = Dataset('linear', 'binary-class', ('a', 'b'), x, labels, x, labels, x, labels)
  return variables, dataset, radius_255


def _config(images=64):
  config = default_config('smoke')
  config.data.attack_per_class = 0
  config.attack.names, config.attack.targets = ('pgd',), ('untargeted',)
  config.attack.pgd_steps, config.attack.pgd_step_size_frac = 1, 0.1
  config.attack.random_start = False
  config.attack.eps_255 = EPS_255
  config.attack.schedule = 'loop'
  config.attack.strong.eps_255 = ()
  config.attack.sanity.large_eps_255 = 0.0
  config.attack.sanity.more_steps_eps_255 = ()
  config.attack.sanity.certificate_sample = 0
  config.attack.audit.images = images
  config.attack.audit.eps_255 = AUDIT_255
  config.attack.audit.fab_steps = 20
  config.attack.audit.apgd_steps = 10
  config.attack.audit.square_queries = 50
  return config


def test_the_audit_finds_exactly_the_images_a_weak_study_misses(case):
  variables, dataset, radius_255 = case
  result = robustness.evaluate(Linear(), variables, dataset, _config(), seed=0)
  record = result.audit
  assert record['eps_255'] == list(AUDIT_255)
  r = radius_255[record['test_indices']]
  assert record['audited'] == 64 and len(r) == 64
  for e, eps in enumerate(AUDIT_255):
    # Study: fooled iff r <= 0.1 eps' at some eps' <= eps; the audit: iff r <= eps.
    # Images within 2 % of either boundary may fall either way.
    sure = np.sum((r > 0.102 * eps) & (r <= 0.98 * eps))
    maybe = np.sum((r > 0.098 * eps) & (r <= 1.02 * eps))
    assert sure <= record['shortfall'][e] <= maybe, (eps, sure, record['shortfall'][e], maybe)
    assert record['shortfall'][e] <= record['study_robust'][e]
  assert record['shortfall'][-1] > 10  # The weak study really misses images.
  assert sum(sum(v) for v in record['fooled_by'].values()) == sum(record['shortfall'])
  # FAB-T's smallest radius: within 1 % of the closed form, never below it.
  fab = np.array(record['fab_min_eps_255'], float)
  assert np.all(fab >= r * (1 - 1e-4)) and np.all(fab <= r * 1.01)
  # The study's smallest fooling grid radius, from its worst case.
  grid = np.array(EPS_255)
  expected = [next((e for e in grid[1:] if ri <= 0.1 * e), None) for ri in r]
  agree = [s == x for s, x, ri in zip(record['study_min_eps_255'], expected, r)
           if not any(abs(ri - 0.1 * e) < 0.02 * 0.1 * e for e in grid[1:])]
  assert all(agree) and len(agree) > 40
  assert result.timing['audit'] > 0 and 'audit/fab_targeted' in result.timing


def test_every_model_of_a_seed_is_audited_on_the_same_draw(case):
  _, dataset, _ = case
  drawn = audit.sample(160, 24, seed=3)
  np.testing.assert_array_equal(drawn, audit.sample(160, 24, seed=3))
  assert not np.array_equal(drawn, audit.sample(160, 24, seed=4))
  config = _config(images=24)
  config.attack.audit.fab_steps = 2
  config.attack.audit.apgd_steps = config.attack.audit.square_queries = 2
  audited = {}
  for model_seed in (0, 5):  # Two models that disagree on many images.
    variables = _variables(model_seed)
    logits = Linear().apply(variables, jnp.asarray(dataset.test_images))
    clean = np.flatnonzero(np.asarray(logits.argmax(1)) == dataset.test_labels)
    record = robustness.evaluate(Linear(), variables, dataset, config, seed=3).audit
    audited[model_seed] = record['test_indices']
    assert record['test_indices'] == [int(i) for i in drawn if i in set(clean)]
  assert audited[0] != audited[5]


def test_min_eps_of_inf_means_never_fooled():
  worst = np.array([[True, True], [True, False]])
  assert list(min_eps.min_eps_of(min_eps.first_fooled_index(worst), np.array([0.0, 1.0]))) \
      == [np.inf, 1.0]


@pytest.mark.parametrize('field, value', [
    ('images', -1), ('apgd_restarts', 0), ('fab_steps', 0), ('target_classes', 10),
    ('eps_255', (0.0, 1.0)), ('square_p_init', 1.5)])
def test_bad_audit_settings_are_refused_naming_the_field(field, value):
  config = default_config('smoke')
  config.attack.audit[field] = value
  with pytest.raises(ConfigError) as error:
    config_validation.validate(config)
  assert f'attack.audit.{field}' in str(error.value) and '\n' not in str(error.value)
