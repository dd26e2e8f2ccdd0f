"""On two classes, least-likely FGSM and PGD are the untargeted attacks: the study
runs them once (attack.skip_binary_least_likely). Checked on a model trained
for real, through the production attack programs, with equal keys."""

import jax
import numpy as np
import pytest

from medadv_jax.attacks import from_config, schedules
from training_helpers import default_config
import trained_models

RADII = np.array([0.5, 1.0, 2.0, 4.0, 8.0], np.float32) / 255.0


@pytest.fixture(scope='module')
def model(tmp_path_factory):
  dataset, attacked = trained_models.pneumonia()
  apply_fn, variables = trained_models.trained('cnn', 0.5, 'standard', 2,
                                               tmp_path_factory.mktemp('run'), dataset)
  return apply_fn, variables, attacked


@pytest.mark.parametrize('name', ['fgsm', 'pgd'])
def test_least_likely_and_untargeted_give_the_same_verdicts(model, name):
  apply_fn, variables, (images, labels) = model
  config = default_config().attack
  config.names, config.targets = (name,), ('least_likely', 'untargeted')
  config.skip_binary_least_likely = False
  least_likely, untargeted = from_config.attack_specs(config, images.shape[1:], 2)
  key = jax.random.key(3)  # The same random start for both.
  verdicts = [schedules.evaluate('loop', spec, apply_fn, variables, images, labels, RADII,
                                 key, 256) for spec in (least_likely, untargeted)]
  np.testing.assert_array_equal(verdicts[0], verdicts[1])
  assert verdicts[0][-1].mean() < verdicts[0][0].mean()  # The attacks do fool.


def test_the_study_skips_them_on_two_classes_only():
  config = default_config().attack
  assert config.skip_binary_least_likely
  two = from_config.attack_specs(config, (28, 28, 1), 2)
  assert [(s.name, s.target) for s in two] == [('fgsm', 'untargeted'), ('pgd', 'untargeted')]
  three = from_config.attack_specs(config, (28, 28, 1), 3)
  assert len(three) == 4
  config.skip_binary_least_likely = False
  assert len(from_config.attack_specs(config, (28, 28, 1), 2)) == 4
