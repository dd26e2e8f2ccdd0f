"""The strong verdict attack and the run-time certificate check, on a small trained
ReLU model: each strong attack runs only where every earlier attack failed and no
certificate holds, the rows are the per-image worst case of everything run, and a
certificate an attack disproves switches certificates off for that model."""

import importlib.util
import pathlib

import flax.linen as nn
import numpy as np
import pytest

import prototype_data

from medadv_jax.attacks import eps_grid, objectives, schedules
from medadv_jax.errors import ConfigError
from medadv_jax.evaluation import robustness, strong
from medadv_jax.models.eval_apply import EvalApply
from medadv_jax.reporting import report
from medadv_jax.reporting.inputs import result_rows
from medadv_jax.reporting.statistics import worst_attack
from medadv_jax.study import config_validation

CONFIG_FILE = pathlib.Path(__file__).resolve().parent.parent / 'configs' / 'default.py'
EPS_255 = (0.0, 4.0, 8.0, 16.0, 32.0, 64.0)


class ReluMLP(nn.Module):
  num_classes: int = 3

  @nn.compact
  def __call__(self, x, train: bool = False):
    x = nn.relu(nn.Dense(16)(x.reshape(x.shape[0], -1) - 0.5))
    return nn.Dense(self.num_classes)(x)


def _config():
  spec = importlib.util.spec_from_file_location('default_config', CONFIG_FILE)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  config = module.get_config('smoke')
  config.data.attack_per_class = 0
  config.attack.names = ('fgsm', 'pgd')
  config.attack.targets = ('untargeted',)
  config.attack.eps_255 = EPS_255
  config.attack.pgd_steps = 3
  config.attack.schedule = 'cascade'
  config.attack.sanity.more_steps_eps_255 = ()
  config.attack.sanity.large_eps_255 = 0.0
  config.attack.strong.eps_255 = (16.0, 32.0, 64.0)
  config.attack.strong.apgd_steps = 10
  config.attack.strong.square_queries = 40
  config.attack.max_images_per_program = 16
  return config


@pytest.fixture(scope='module')
def trained():
  """A 3-class ReLU MLP trained on noisy prototypes (4x4 images): (model, params, dataset)."""
  model = ReluMLP()
  params, dataset = prototype_data.trained_on_prototypes(model, 0.2, 0.8, 'synthetic')
  return model, params, dataset


def test_specs_follow_autoattack_with_the_margin_loss_on_binary_tasks():
  c = _config().attack.strong
  binary = strong.specs(c, 2, False)
  assert [(s.name, s.target) for s in binary] == [
      ('apgd_ce', 'untargeted'), ('apgd_dlr', 'untargeted'), ('square', 'untargeted')]
  five = strong.specs(c, 5, False)
  assert [s.target for s in five if s.name == 'apgd_dlr'] == ['top2', 'top3', 'top4', 'top5']
  c.target_classes = 2
  assert [s.target for s in strong.specs(c, 12, False) if s.name == 'apgd_dlr'] == [
      'top2', 'top3']
  assert all(s.target == 'untargeted' for s in strong.specs(c, 14, True))
  assert all(s.steps == c.apgd_steps for s in five if s.name != 'square')
  assert five[-1].steps == c.square_queries


def test_ranked_targets_are_the_clean_predictions_runners_up():
  logits = np.array([[0.0, 3.0, 1.0, 2.0], [5.0, 4.0, 3.0, 6.0]], np.float32)
  targets = lambda mode: np.asarray(objectives.attack_labels(
      lambda x: x, logits, np.zeros(2, np.int32), mode))
  np.testing.assert_array_equal(targets('top2'), [3, 0])
  np.testing.assert_array_equal(targets('top4'), [0, 2])


def test_each_strong_attack_runs_only_where_earlier_attacks_failed_and_no_certificate_holds(
    trained, monkeypatch):
  model, params, dataset = trained
  apply_fn, config = EvalApply(model), _config()
  x, y = dataset.test_images, dataset.test_labels
  eps = np.float32([16.0, 32.0, 64.0]) / 255
  clean = eps_grid.clean_correct(apply_fn, params, x, y, 16)
  prior = np.broadcast_to(clean, (3, y.size)).copy()
  prior[1:, ::5] = False  # Fooled earlier at 8/255 and beyond.
  certificates = schedules.certify(apply_fn, params, x, y, eps, 16)
  assert certificates is not None and certificates.certified.sum() > 0
  attacked = []
  correct_at = schedules.correct_at

  def recording(attack, apply_fn, variables, images, labels, indices, radii, *rest):
    attacked.append((attack, indices.copy(), float(radii[0]) if radii.size else None))
    return correct_at(attack, apply_fn, variables, images, labels, indices, radii, *rest)

  monkeypatch.setattr(schedules, 'correct_at', recording)
  specs = strong.specs(config.attack.strong, 3, False)
  seconds = {}
  verdict = strong.evaluate(specs, apply_fn, params, x, y, eps, prior, 0, 16, certificates,
                            seconds)
  # Each member's time, under its own label (timing.json's strong_attack/<label>).
  assert sorted(seconds) == sorted(f'{s.name}_{s.target}' for s in specs)
  assert all(v > 0 for v in seconds.values())
  assert not np.any(verdict & ~prior)  # Never more robust than the earlier attacks say.
  assert np.all(np.diff(verdict.astype(int), axis=0) <= 0)  # Cumulated over radii.
  assert verdict.sum() < prior.sum()  # The strong attack found more.
  # Each image's largest strong radius inside its certified ball, counted here.
  reach = np.array([max([e for e, r in enumerate(eps) if r <= radius and radius > 0],
                        default=-1) for radius in certificates.radius])
  np.testing.assert_array_equal(certificates.reach(eps), reach)
  fooled_before = ~prior
  for spec in specs:
    calls = [(idx, r) for s, idx, r in attacked if s == spec and idx.size]
    assert calls
    for idx, radius in calls:
      e = int(np.flatnonzero(np.isclose(eps, radius))[0])
      assert not np.any(fooled_before[e, idx])  # Earlier attacks left them correct.
      assert np.all(reach[idx] < e)  # Not certified at this radius.
    # What this attack leaves is what the next one starts from.
    fooled_before = ~strong.evaluate([spec], apply_fn, params, x, y, eps, ~fooled_before, 0,
                                     16, certificates)


def test_strong_rows_are_the_worst_case_of_everything_and_decide_the_worst_attack(trained):
  model, params, dataset = trained
  rows = robustness.evaluate_model(model, params, dataset, _config(), seed=0)
  by = {(r['attack'], r['eps_255']): r for r in rows}
  strong_rows = [r for r in rows if r['attack'] == 'strong']
  assert [r["eps_255"] for r in strong_rows] == [16.0, 32.0, 64.0]
  assert 'APGD-CE 10 steps' in strong_rows[0]['members']
  for r in strong_rows:
    paper = by[('ensemble', r['eps_255'])]
    assert r['accuracy'] <= paper['accuracy']
    assert r['below_paper'] == pytest.approx(paper['accuracy'] - r['accuracy'])
    assert r['below_paper_ci_low'] <= r['below_paper'] <= r['below_paper_ci_high']
  assert sum(r['below_paper'] for r in strong_rows) > 0  # It beats 3-step PGD here.
  for r in rows:
    r.update(dataset='synthetic', model='mlp', width=1.0, depth=None, params=1, flops=1,
             train_mode='standard', seed=0)
  worst = worst_attack.worst_attack_accuracy(rows)
  size = result_rows.size_key(rows[0])
  for e in EPS_255:
    expected = by.get(('strong', e), by[('ensemble', e)])['accuracy']
    assert worst[(size, 'standard', e)][0] == expected
  gap = max(r['below_paper'] for r in strong_rows)
  assert rows[0]['sanity_strong_attack'] == (gap <= 0.03 + 1e-9)
  assert rows[0]['sanity_strong_attack_value'] == pytest.approx(gap)
  text = report.render_report(rows)
  assert "## How much the strong attack adds to the paper's" in text
  assert 'Square 40 queries' in text


def test_a_certificate_an_attack_disproves_switches_certificates_off(trained, monkeypatch):
  model, params, dataset = trained
  config = _config()
  honest = robustness.evaluate_model(model, params, dataset, config, seed=0)
  assert honest[0]['sanity_certificates'] is True
  assert honest[0]['sanity_certificates_checked'] > 0
  certify = schedules.certify

  def lying(*args, **kwargs):  # Every clean-correct image "proven" at the largest radius.
    found = certify(*args, **kwargs)
    return schedules.Certificates(np.where(found.radius > 0, 64 / 255, 0.0))

  monkeypatch.setattr(schedules, 'certify', lying)
  evaluated = robustness.evaluate_model(model, params, dataset, config, seed=0)
  assert evaluated[0]['sanity_certificates'] is False
  assert evaluated[0]['sanity_certificates_value'] > 0
  assert evaluated[0]['sanity_ok'] is False
  # Without certificates every image is attacked: the verdicts of honest certificates.
  strip = lambda rows: [(r['attack'], r['eps_255'], r['accuracy']) for r in rows]
  assert strip(evaluated) == strip(honest)
  for r in evaluated:
    r.update(dataset='synthetic', model='mlp', width=1.0, depth=None, params=1, flops=1,
             train_mode='standard', seed=0)
  assert 'Evaluated without certificates after an attack disproved one' in (
      report.render_report(evaluated))


def test_one_strong_radius_carries_to_every_larger_radius_and_vmap_certifies_nothing(
    trained, monkeypatch):
  model, params, dataset = trained
  config = _config()
  config.attack.strong.eps_255 = (16.0,)
  config.attack.schedule = 'vmap'

  def no_bounds(*args, **kwargs):
    raise AssertionError('certified without a certificate check')

  monkeypatch.setattr(schedules, 'certified_reach', no_bounds)
  rows = robustness.evaluate_model(model, params, dataset, config, seed=0)
  strong_rows = {r['eps_255']: r for r in rows if r['attack'] == 'strong'}
  ensemble = {r['eps_255']: r for r in rows if r['attack'] == 'ensemble'}
  assert sorted(strong_rows) == [16.0, 32.0, 64.0]
  accuracies = [strong_rows[e]['accuracy'] for e in (16.0, 32.0, 64.0)]
  assert accuracies == sorted(accuracies, reverse=True)  # Never rises with eps.
  for e, r in strong_rows.items():
    assert r['accuracy'] <= ensemble[e]['accuracy']
  assert rows[0]['sanity_certificates'] is None  # No certificates on this schedule.


def test_the_strong_more_steps_check_reruns_one_restart_at_twice_the_steps(
    trained, monkeypatch):
  model, params, dataset = trained
  config = _config()
  config.attack.strong.apgd_restarts = 3
  config.attack.sanity.more_steps_eps_255 = (32.0,)
  cascade, seen = schedules.evaluate_cascade, []

  def recording(spec, *args, **kwargs):
    seen.append((spec.name, spec.steps, spec.restarts))
    return cascade(spec, *args, **kwargs)

  monkeypatch.setattr(schedules, 'evaluate_cascade', recording)
  rows = robustness.evaluate_model(model, params, dataset, config, seed=0)
  assert ('apgd_ce', 10, 3) in seen  # The strong ensemble itself: every restart.
  assert seen[-2:] == [('apgd_ce', 10, 1), ('apgd_ce', 20, 1)]  # The check: one run each.
  assert rows[0]['sanity_strong_more_steps'] is not None


def test_more_target_classes_than_ranked_targets_are_refused():
  config = _config()
  config.attack.strong.target_classes = len(objectives.RANKED_TARGETS) + 1
  with pytest.raises(ConfigError, match='attack.strong.target_classes'):
    config_validation.validate(config)


@pytest.mark.parametrize('field, value', [
    ('strong.eps_255', (8.0, 2.0)), ('strong.eps_255', (0.0, 2.0)),
    ('strong.eps_255', (4.0, 5.0)),
    ('strong.apgd_steps', 0), ('strong.apgd_restarts', 0), ('strong.square_queries', 0),
    ('strong.square_p_init', 1.5), ('sanity.certificate_sample', -1)])
def test_bad_strong_attack_and_check_settings_are_refused_naming_the_field(field, value):
  config = _config()
  group, name = field.split('.')
  config.attack[group][name] = value
  with pytest.raises(ConfigError, match=f'attack.{field}'):
    config_validation.validate(config)
