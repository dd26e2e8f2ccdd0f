"""configs/paper.py: the paper's protocol, and its arg parsing."""

import pytest

from configs import default, paper
from medadv_jax.study import config_validation


@pytest.mark.parametrize('dataset', ['pneumonia', 'oct', 'derma'])
@pytest.mark.parametrize('family', ['paper', 'width'])
def test_every_medmnist_variant_is_valid(dataset, family):
  config_validation.validate(paper.get_config(f'dataset={dataset},family={family}'))


def test_protocol_matches_the_paper():
  config = paper.get_config('dataset=pneumonia,family=paper')
  assert config.model.names == ('cbr_large_t', 'resnet8', 'resnet20', 'resnet32', 'resnet50')
  assert config.seeds == tuple(range(10)) and config.data.split == 'pooled'
  assert config.data.split_fractions == (0.71, 0.145, 0.145)
  assert config.data.size == 224 and config.data.attack_per_class == 150
  assert (config.train.batch_size, config.train.epochs, config.train.decay_epochs) == (
      32, 100, (80,))
  assert config.train.plateau.patience == 5 and config.train.learning_rate == 1e-3
  assert config.attack.pgd_steps == 20 and config.attack.pgd_step_size_frac == 0.1
  assert 'least_likely' in config.attack.targets
  assert config.attack.eps_255 == default.PAPER_EPS_255


def test_runlocal_shrinks_but_stays_valid():
  config = paper.get_config('dataset=oct,family=width,runlocal')
  config_validation.validate(config)
  assert config.data.size == 28 and config.train.epochs == 2 and len(config.seeds) == 2


def test_image_folder_variant_needs_its_folder():
  config = paper.get_config('dataset=pneumonia_folder')
  assert config.data.name == 'chest_xray_folder'
  with pytest.raises(Exception, match='data.dir'):
    config_validation.validate(config)


@pytest.mark.parametrize('arg, message', [
    ('dataset=xray', "dataset='xray'"),
    ('family=vit', "family='vit'"),
    ('depth=3', "unknown key 'depth'"),
    ('size=abc', "size='abc'; allowed: an image side in pixels"),
    ('runlocal=1', "runlocal='1'; allowed: 'runlocal' alone"),
])
def test_bad_arg_names_the_key_and_allowed_values(arg, message):
  with pytest.raises(ValueError, match=message):
    paper.get_config(arg)
