"""Bad analysis plans are refused at the boundary with one line naming the field."""

import pytest

from configs import default, paper, replication
from medadv_jax.errors import ConfigError
from medadv_jax.reporting.claims import plan as plan_lib
from medadv_jax.study import config_validation


def _refusal(change) -> ConfigError:
  config = default.get_config()
  change(config)
  with pytest.raises(ConfigError) as error:
    config_validation.validate(config)
  assert '\n' not in str(error.value)
  return error.value


@pytest.mark.parametrize('change, field, words', [
    (lambda c: setattr(c.analysis.size, 'endpoint', 'spearman'), 'analysis.size.endpoint',
     'robust_slope'),
    (lambda c: setattr(c.analysis.training, 'endpoint', 'votes'),
     'analysis.training.endpoint', 'paired_gain'),
    (lambda c: setattr(c.analysis.size, 'band_255', (12.0, 20.0)), 'analysis.size.band_255',
     'attack.eps_255'),
    (lambda c: setattr(c.analysis.training, 'band_255', (4.0, 0.5)),
     'analysis.training.band_255', 'low <= high'),
    (lambda c: setattr(c.analysis.size, 'margin', 0.0), 'analysis.size.margin', '(0, 1)'),
    (lambda c: setattr(c.analysis.training, 'margin', -0.1), 'analysis.training.margin',
     '(0, 1)'),
    (lambda c: setattr(c, 'seeds', (0, 1, 2)), 'seeds', 'analysis.min_seeds = 5'),
    (lambda c: setattr(c.analysis, 'min_sizes', 2), 'analysis.min_sizes', '>= 3'),
    (lambda c: setattr(c.analysis.training, 'baseline', 'pgd'), 'analysis.training.baseline',
     'other than'),
    (lambda c: setattr(c.analysis, 'secondary', ('p_hacking',)), 'analysis.secondary',
     'matched_set'),
    (lambda c: setattr(c.analysis, 'models', ('resnet8',)), 'analysis.models',
     'not in it: resnet8'),
    (lambda c: setattr(c.analysis, 'models', ('cnn', 7)), 'analysis.models',
     'a tuple of model'),
])
def test_a_bad_plan_is_one_line_naming_the_field(change, field, words):
  error = _refusal(change)
  assert error.field == field and words in str(error)


@pytest.mark.parametrize('config', [
    default.get_config(), default.get_config('smoke'), paper.get_config(),
    paper.get_config('runlocal'), replication.get_config('dataset=retina,family=depth'),
    replication.get_config('dataset=breast,family=width')], ids=range(6))
def test_shipped_configs_hold_valid_plans_that_read_back(config, tmp_path):
  config_validation.validate(config)
  plan = plan_lib.Plan.from_config(config.analysis)
  plan_lib.write(plan, tmp_path)
  assert plan_lib.read(tmp_path / plan_lib.FILE_NAME) == plan
  assert plan.min_seeds <= len(config.seeds)
