"""evaluate_model on a small trained model: per-attack and ensemble rows, attack
strength orderings, sanity checks, and the schedule chosen by the config."""

import importlib.util
import pathlib

import flax.linen as nn
import numpy as np
import pytest

import prototype_data

from medadv_jax import cell_data
from medadv_jax.attacks import registry
from medadv_jax.evaluation import robustness, sanity

CONFIG_FILE = pathlib.Path(__file__).resolve().parent.parent / 'configs' / 'default.py'
EPS_255 = (0.0, 8.0, 16.0, 32.0, 64.0)
ATTACKS = ('fgsm', 'pgd', 'apgd_ce', 'square')


class TinyMLP(nn.Module):
  num_classes: int = 3

  @nn.compact
  def __call__(self, x, train: bool = False):
    x = nn.tanh(nn.Dense(16)(x.reshape(x.shape[0], -1) - 0.5))
    return nn.Dense(self.num_classes)(x)


def _config(**attack):
  spec = importlib.util.spec_from_file_location('default_config', CONFIG_FILE)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  config = module.get_config('smoke')
  config.data.attack_per_class = 0
  config.attack.names = ATTACKS
  config.attack.targets = ('untargeted',)
  config.attack.eps_255 = EPS_255
  config.attack.pgd_steps = 10
  config.attack.apgd_steps = 10  # The same budget as PGD.
  config.attack.square_queries = 60
  config.attack.sanity.more_steps_eps_255 = (32.0,)
  # Small programs: one chunk shape per schedule, so few compiles.
  config.attack.max_images_per_program = 16
  for field, value in attack.items():
    config.attack[field] = value
  return config


@pytest.fixture(scope='module')
def trained(evaluated):
  """(model, params, dataset, rows)."""
  return evaluated[:4]


@pytest.fixture(scope='module')
def evaluated():
  """A 3-class MLP trained to high clean accuracy on noisy prototypes (4x4 images),
  evaluated: (model, params, dataset, rows, per_image)."""
  model = TinyMLP()
  params, dataset = prototype_data.trained_on_prototypes(model, 0.3, 0.7)
  # 'vmap' keeps each radius's own verdicts, so every sanity check applies.
  rows, per_image = robustness.evaluate_model_with_details(
      model, params, dataset, _config(schedule='vmap'), seed=0)
  return model, params, dataset, rows, per_image


def _curve(rows, attack):
  return np.array([r['accuracy'] for r in sorted(
      (r for r in rows if r['attack'] == attack), key=lambda r: r['eps_255'])])


def test_rows_hold_every_attack_and_the_ensemble(trained):
  *_, rows = trained
  assert {r['attack'] for r in rows} == set(ATTACKS) | {'ensemble', 'strong'}
  # The strong attack runs at those of its radii (0.5 ... 8/255) in the grid, 8, and
  # its worst case with the paper's attacks is carried to every larger radius.
  assert [r['eps_255'] for r in rows if r['attack'] == 'strong'] == [8.0, 16.0, 32.0, 64.0]
  assert len(rows) == (len(ATTACKS) + 1) * len(EPS_255) + 4
  for key in ('attack', 'target', 'steps', 'eps', 'eps_255', 'accuracy', 'n', 'ci_low',
              'ci_high', 'accuracy_single_eps', 'clean_test_accuracy', 'norm', 'schedule',
              'median_min_eps_255', 'sanity_ok'):
    assert all(key in r for r in rows), key
  clean = _curve(rows, 'ensemble')[0]
  assert clean == pytest.approx(rows[0]['clean_test_accuracy']) and clean > 0.9
  assert _curve(rows, 'ensemble')[-1] < 0.5 * clean  # The attacks do bite.


def test_ensemble_is_at_least_as_strong_as_each_attack(trained):
  *_, rows = trained
  ensemble = _curve(rows, 'ensemble')
  members = np.array([_curve(rows, a) for a in ATTACKS])
  assert np.all(ensemble <= members.min(axis=0))


def test_apgd_is_at_least_as_strong_as_pgd_with_the_same_budget(trained):
  *_, rows = trained
  apgd, pgd = _curve(rows, 'apgd_ce'), _curve(rows, 'pgd')
  assert np.all(apgd <= pgd)
  assert np.any(apgd < pgd)


def test_sanity_checks_are_computed_for_the_model(trained):
  *_, rows = trained
  summary = robustness.sanity_summary(rows)
  assert summary['eps0_clean'] == {'ok': True, 'value': 0.0}
  assert summary['large_eps']['ok'] is True  # eps = 255/255 leaves <= 1/3.
  for name in ('pgd_vs_fgsm', 'more_steps', 'square_vs_white_box', 'non_increasing'):
    assert summary[name]['ok'] is not None, name
  assert summary['ok'] == sanity.all_ok({**summary, 'tolerance': 0.03})
  assert len({r['sanity_ok'] for r in rows}) == 1  # One verdict per model.


def test_the_config_chooses_the_schedule_and_cascade_agrees_with_vmap(trained):
  model, params, dataset, rows = trained
  cascade = robustness.evaluate_model(
      model, params, dataset, _config(names=('pgd',), schedule='cascade'), seed=0)
  # The strong attack's rows are always a cascade; the others follow the config.
  rows, cascade = ([r for r in found if r['attack'] != 'strong'] for found in (rows, cascade))
  assert {r['schedule'] for r in rows} == {'vmap'} and {r['schedule'] for r in cascade} == {
      'cascade'}
  # Cumulated verdicts would pass these two by construction: not applicable.
  summary = robustness.sanity_summary(cascade)
  assert summary['eps0_clean']['ok'] is None and summary['non_increasing']['ok'] is None
  # An attack's key depends on its name and target, not on the other attacks, so
  # cascade reproduces the vmapped worst case exactly.
  for attack in ('pgd', 'ensemble'):
    np.testing.assert_array_equal(_curve(cascade, attack), _curve(rows, 'pgd'))


def test_per_image_min_eps_reproduces_every_accuracy_curve(evaluated):
  *_, rows, per_image = evaluated
  assert per_image['eps_255'] == list(EPS_255)
  labels = {cell_data.attack_label(r) for r in rows}
  assert 'Strong + paper attacks (per image)' in labels
  assert set(per_image['min_eps_255']) == labels
  n = rows[0]['n']
  assert len(per_image['clean_correct']) == len(per_image['test_indices']) == n
  for r in rows:
    radii = per_image['min_eps_255'][cell_data.attack_label(r)]
    # Robust at eps exactly when the smallest fooling radius is larger (or none).
    robust = [m is None or m > r['eps_255'] for m in radii]
    assert np.mean(robust) == pytest.approx(r['accuracy']), (r['attack'], r['eps_255'])
  ensemble = per_image['min_eps_255']['Ensemble (per image)']
  assert np.mean(per_image['clean_correct']) == pytest.approx(_curve(rows, 'ensemble')[0])
  # The ensemble fools each image no later than any of its members, and the strong
  # worst case (which includes it) no later than the ensemble.
  members = dict(per_image['min_eps_255'])  # The fixture is shared: leave it whole.
  strong = members.pop('Strong + paper attacks (per image)')
  for label, radii in members.items():
    for e, m in zip(ensemble, radii):
      assert m is None or (e is not None and e <= m), label
  for e, s in zip(ensemble, strong):
    assert e is None or (s is not None and s <= e)
  # Below the strong attack's smallest radius it is the paper attacks' ensemble.
  smallest = min(r['eps_255'] for r in rows if r['attack'] == 'strong')
  for e, s in zip(ensemble, strong):
    assert (e is not None and e < smallest) <= (s == e)


def test_per_image_min_eps_on_constructed_verdicts():
  spec = registry.AttackSpec('pgd', 'untargeted', steps=10)
  # Image 0: wrong when clean; 1: fooled from the third radius on; 2: never fooled.
  worst = np.array([[False, True, True], [False, True, True], [False, False, True]])
  run = sanity.AttackRun(spec, worst, worst)
  out = robustness.per_image_min_eps([('PGD-10, untargeted', run)],
                                     np.array([False, True, True]),
                                     np.array([0.0, 0.5, 2.0]), np.array([7, 11, 42]))
  assert out == {'eps_255': [0.0, 0.5, 2.0], 'test_indices': [7, 11, 42],
                 'clean_correct': [False, True, True],
                 'min_eps_255': {'PGD-10, untargeted': [0.0, 2.0, None]}}
