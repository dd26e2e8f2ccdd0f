"""Square's query schedule and its job (beating gradient masking); APGD's checkpoints."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from medadv_jax.attacks import apgd, eps_grid, schedules, square
from medadv_jax.attacks.registry import AttackSpec
from medadv_jax.evaluation import sanity


def test_apgd_checkpoints_follow_croce_and_hein():
  # 100 steps: first window 22 % of the budget, then 3 % shorter each time, never
  # below 6 % (the reference's n_iter_2, size_decr, n_iter_min).
  is_check, window = apgd.checkpoint_schedule(100)
  np.testing.assert_array_equal(np.flatnonzero(is_check), [21, 40, 56, 69, 79, 86, 92, 98])
  np.testing.assert_array_equal(window[is_check], [22, 19, 16, 13, 10, 7, 6, 6])
  assert apgd.checkpoint_schedule(3)[0].all()  # Tiny budgets check every step.


def test_square_windows_shrink_on_the_reference_schedule():
  assert square.p_schedule(0, 10000, 0.8) == 0.8
  assert square.p_schedule(11, 10000, 0.8) == 0.4
  assert square.p_schedule(9000, 10000, 0.8) == 0.8 / 512
  assert square.p_schedule(50, 100, 0.8) == 0.8 / 128  # Rescaled: query 5000 of 10^4.
  sides = square.window_sizes(1000, 0.8, 28, 28)
  assert sides[0] == 25  # round(sqrt(0.8 * 28 * 28)).
  assert np.all(np.diff(sides) <= 0) and sides[-1] == 1


@dataclasses.dataclass(frozen=True)
class QuantisedApply:
  """A linear model behind 3-bit quantisation: its input gradient is zero almost
  everywhere, the textbook gradient masking."""

  def __call__(self, variables, x):
    quantised = jnp.round(x * 8.0) / 8.0
    return quantised.reshape(x.shape[0], -1) @ variables['w']


def test_square_breaks_a_gradient_masked_model_and_the_sanity_check_says_so():
  w = jax.random.normal(jax.random.key(0), (9, 2))
  images = np.asarray(jax.random.uniform(jax.random.key(1), (48, 3, 3, 1)))
  labels = np.asarray(jnp.argmax(QuantisedApply()({'w': w}, images), -1)).astype(np.int32)
  eps = np.array([0.0, 0.25, 0.5], np.float32)
  runs = []
  for attack in (AttackSpec('pgd', steps=10, step_size_frac=0.25, random_start=False),
                 AttackSpec('square', steps=100)):
    single = schedules.evaluate('vmap', attack, QuantisedApply(), {'w': w}, images, labels,
                                eps, jax.random.key(2), 1000)
    runs.append(sanity.AttackRun(attack, single, eps_grid.worst_case_so_far(single)))
  pgd_run, square_run = runs
  assert pgd_run.worst[-1].all()  # Zero gradients: PGD never moves.
  assert square_run.worst[-1].mean() < 0.5  # Random search does not need them.
  checks = sanity.run_checks(runs, pgd_run.worst, None, np.ones(48, bool), labels, 0.03)
  assert checks['square_vs_white_box']['ok'] is False
  assert checks['square_vs_white_box']['value'] > 0.5
