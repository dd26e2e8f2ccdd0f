"""Robustness over an eps grid: the schedules (vmap, loop, cascade, min_eps), chunking,
worst case so far."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from medadv_jax.attacks import eps_grid, min_eps, registry, schedules

EPS = np.array([0.0, 0.01, 0.03, 0.1, 0.3], np.float32)


@dataclasses.dataclass(frozen=True)
class LinearApply:
  """A hashable `(variables, x) -> logits` linear classifier."""

  def __call__(self, variables, x):
    return x.reshape(x.shape[0], -1) @ variables['w'] + variables['b']


def _problem(n=40, seed=0):
  w = jax.random.normal(jax.random.key(seed), (16, 2))
  variables = {'w': w, 'b': jnp.zeros(2)}
  images = np.asarray(jax.random.uniform(jax.random.key(seed + 1), (n, 4, 4, 1)))
  labels = np.asarray(jax.random.bernoulli(jax.random.key(seed + 2), 0.5, (n,))).astype(np.int32)
  return variables, images, labels


def test_eps_zero_equals_clean_accuracy_and_accuracy_never_rises():
  variables, images, labels = _problem()
  attack = registry.AttackSpec('pgd', steps=10, step_size_frac=0.25)
  single = eps_grid.evaluate_over_eps(attack, LinearApply(), variables, images, labels,
                                      EPS, jax.random.key(0), max_images_per_program=50)
  clean = eps_grid.clean_correct(LinearApply(), variables, images, labels, 64)
  worst = eps_grid.worst_case_so_far(single)
  np.testing.assert_array_equal(single[0], clean)
  accuracy = worst.mean(axis=1)
  assert accuracy[0] == clean.mean()
  assert np.all(np.diff(accuracy) <= 0)
  assert accuracy[-1] < accuracy[0]  # The attack does something at eps = 0.3.


def test_worst_case_so_far_is_cumulative_and():
  correct = np.array([[1, 1, 1, 0], [0, 1, 1, 1], [1, 1, 0, 1]], bool)
  expected = np.array([[1, 1, 1, 0], [0, 1, 1, 0], [0, 1, 0, 0]], bool)
  np.testing.assert_array_equal(eps_grid.worst_case_so_far(correct), expected)


@dataclasses.dataclass(frozen=True)
class MlpApply:
  """A hashable nonlinear classifier: random starts change its verdicts."""

  def __call__(self, variables, x):
    hidden = jnp.tanh(4.0 * (x.reshape(x.shape[0], -1) - 0.5) @ variables['w1'])
    return hidden @ variables['w2']


def _mlp_problem(n=40, seed=0, classes=3):
  k1, k2, k3 = jax.random.split(jax.random.key(seed), 3)
  variables = {'w1': jax.random.normal(k1, (16, 8)), 'w2': jax.random.normal(k2, (8, classes))}
  images = np.asarray(jax.random.uniform(k3, (n, 4, 4, 1)))
  labels = np.asarray(jnp.argmax(MlpApply()(variables, images), -1)).astype(np.int32)
  labels[::7] = (labels[::7] + 1) % classes  # Some examples are wrong before any attack.
  return variables, images, labels


def test_vmapped_looped_and_cascade_schedules_agree_example_by_example():
  # Random starts differ per example but not per schedule: example i always uses
  # fold_in(key, i). So the looped verdicts equal the vmapped ones, and the cascade
  # (which stops attacking an example once fooled) equals their worst case so far.
  variables, images, labels = _mlp_problem()
  attack = registry.AttackSpec('pgd', steps=3, step_size_frac=0.3)
  run = lambda schedule, cap: schedules.evaluate(
      schedule, attack, MlpApply(), variables, images, labels, EPS, jax.random.key(1), cap)
  vmapped = run('vmap', 50)  # Chunks of 10 examples; the loop's are 16.
  np.testing.assert_array_equal(run('loop', 16), vmapped)
  cascade = run('cascade', 16)
  worst = eps_grid.worst_case_so_far(vmapped)
  np.testing.assert_array_equal(cascade, worst)
  assert np.all(cascade.mean(axis=1) <= vmapped.mean(axis=1))
  # 'auto' is the cascade on a CPU (the test machines have no accelerator).
  assert schedules.resolve('auto') == 'cascade'
  np.testing.assert_array_equal(run('auto', 16), cascade)
  assert 0 < worst[-1].mean() < worst[0].mean()  # The attack fools some, not all.


def test_min_eps_bisection_never_reports_a_radius_the_full_grid_would_not():
  # Bisection reports a radius only where it ran the attack and succeeded, with the
  # same per-example keys as the grid: its first fooling index is never below the
  # grid's, and equals it when success is monotone in eps (FGSM on a linear model).
  variables, images, labels = _mlp_problem(seed=2)
  attack = registry.AttackSpec('pgd', steps=3, step_size_frac=0.3)
  grid = schedules.evaluate('cascade', attack, MlpApply(), variables, images, labels,
                            EPS, jax.random.key(3), 16)
  bisected = schedules.evaluate('min_eps', attack, MlpApply(), variables, images, labels,
                                EPS, jax.random.key(3), 16)
  assert np.all(min_eps.first_fooled_index(bisected) >= min_eps.first_fooled_index(grid))
  np.testing.assert_array_equal(bisected[0], grid[0])

  variables, images, labels = _problem(n=30, seed=4)
  fine_grid = np.linspace(0.0, 0.3, 13).astype(np.float32)
  fgsm = registry.AttackSpec('fgsm', step_size_frac=1.0, random_start=False)
  full = schedules.evaluate('vmap', fgsm, LinearApply(), variables, images, labels,
                            fine_grid, jax.random.key(0), 1000)
  bisected = schedules.evaluate('min_eps', fgsm, LinearApply(), variables, images, labels,
                                fine_grid, jax.random.key(0), 16)
  np.testing.assert_array_equal(bisected, eps_grid.worst_case_so_far(full))


def test_first_fooled_index_and_min_eps_read_the_curve():
  worst = np.array([[1, 1, 0, 1], [1, 0, 0, 1], [0, 0, 0, 1]], bool)
  first = min_eps.first_fooled_index(worst)
  np.testing.assert_array_equal(first, [2, 1, 0, 3])
  np.testing.assert_array_equal(min_eps.verdicts_from_first_fooled(first, 3), worst)
  np.testing.assert_array_equal(min_eps.min_eps_of(first, [0.0, 1.0, 2.0]),
                                [2.0, 1.0, 0.0, np.inf])


def test_chunks_are_few_shapes_with_little_padding():
  sizes, remaining = [], 300
  while remaining > 0:
    sizes.append(schedules.chunk_size(remaining, 1024))
    remaining -= sizes[-1]
  assert sizes == [256, 16, 16, 16]
  assert schedules.chunk_size(255, 1024) == schedules.MIN_BUCKET
  assert schedules.chunk_size(5000, 1024) == 1024
  assert schedules.chunk_size(3, 1024) == schedules.MIN_BUCKET
  assert schedules.chunk_size(100, 8) == 8


@dataclasses.dataclass(frozen=True)
class ReluMlpApply:
  """A hashable ReLU classifier, which linear bounds cover (MlpApply's tanh is not)."""

  def __call__(self, variables, x):
    hidden = jax.nn.relu(x.reshape(x.shape[0], -1) @ variables['w1'] + variables['b1'])
    return hidden @ variables['w2']


def test_cascade_certificates_skip_attacks_and_change_no_verdict(monkeypatch):
  # PGD-20 over 29 radii is worth certifying: examples proven robust up to a
  # radius are not attacked there, and the verdicts stay the loop's worst case.
  k1, k2, k3, k4 = jax.random.split(jax.random.key(0), 4)
  variables = {'w1': jax.random.normal(k1, (16, 12)), 'b1': jax.random.normal(k4, (12,)),
               'w2': jax.random.normal(k2, (12, 3))}
  images = np.asarray(jax.random.uniform(k3, (48, 4, 4, 1)))
  labels = np.asarray(jnp.argmax(ReluMlpApply()(variables, images), -1)).astype(np.int32)
  labels[::7] = (labels[::7] + 1) % 3
  attack = registry.AttackSpec('pgd', steps=20, step_size_frac=0.1)
  grid = np.linspace(0, 0.3, 29).astype(np.float32)
  assert schedules.worth_certifying(attack, grid.size)
  attacked, correct_at = [], schedules.correct_at
  monkeypatch.setattr(schedules, 'correct_at',
                      lambda *args: attacked.append(args[5].size) or correct_at(*args))
  args = (attack, ReluMlpApply(), variables, images, labels, grid, jax.random.key(1), 64)
  worst = eps_grid.worst_case_so_far(schedules.evaluate_looped(*args))
  attacked.clear()
  certified = schedules.evaluate_cascade(*args)
  with_certificates = sum(attacked)
  attacked.clear()
  np.testing.assert_array_equal(schedules.evaluate_cascade(*args, certify=False), worst)
  np.testing.assert_array_equal(certified, worst)
  assert with_certificates < 0.5 * sum(attacked), (with_certificates, sum(attacked))
  assert 0 < worst[-1].mean() < worst[1].mean()  # Some fooled, some not.
  # Every certificate is one no attack contradicts.
  reach = schedules.certified_reach(ReluMlpApply(), variables, images, labels,
                                    np.arange(48), grid, 64)
  proven = np.flatnonzero(reach >= 0)
  assert proven.size > 10 and np.all(worst[reach[proven], proven])
