"""configs/replication.py: the six studies the replication runs, and its arg parsing."""

import jax
import jax.numpy as jnp
import pytest

from configs import default, replication
from medadv_jax.models import complexity, registry
from medadv_jax.study import config_validation


@pytest.mark.parametrize('dataset', ['pneumonia', 'breast', 'retina'])
@pytest.mark.parametrize('family', ['width', 'depth'])
def test_every_study_is_valid_pooled_and_on_the_papers_grid(dataset, family):
  config = replication.get_config(f'dataset={dataset},family={family}')
  config_validation.validate(config)
  assert config.data.split == 'pooled' and config.data.size == 28
  assert config.attack.eps_255 == default.PAPER_EPS_255
  assert 'pgd' in config.attack.names and config.attack.strong.eps_255
  assert config.train.min_steps > 0  # Trained to the validation plateau.


def _params(name, width):
  model = registry.get_model(name, num_classes=2, width=width, depth=None)
  variables = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 28, 28, 1)), train=False)
  return complexity.count_params(variables['params'])


def test_width_family_spans_30x_in_parameters_with_5_seeds_and_pgd():
  config = replication.get_config('dataset=pneumonia,family=width')
  params = [_params('cnn', w) for w in config.model.widths]
  assert len(params) >= 4 and params == sorted(params) and params[-1] >= 30 * params[0]
  assert len(config.seeds) >= 5 and config.train.modes == ('standard', 'pgd')


def test_depth_family_is_the_papers_models_with_3_seeds():
  config = replication.get_config('dataset=retina,family=depth')
  assert set(config.model.names) == {'resnet8', 'resnet20', 'resnet32', 'resnet50',
                                     'cbr_large_t'}
  assert config.model.widths == (replication.DEPTH_WIDTH,) and len(config.seeds) >= 3
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
])
def test_bad_arg_names_the_key_and_allowed_values(arg, message):
  with pytest.raises(ValueError, match=message):
    replication.get_config(arg)
