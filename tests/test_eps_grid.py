"""Robustness over an eps grid: vmapped program, chunking, worst case so far."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from medadv_jax.attacks import eps_grid, linf

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
  attack = linf.LinfAttack('pgd', steps=10, step_size_frac=0.25)
  single = eps_grid.evaluate_over_eps(attack, LinearApply(), variables, images, labels,
                                      EPS, jax.random.key(0), max_images_per_program=50)
  clean = eps_grid.predict(LinearApply(), variables, images, 64) == labels
  worst = eps_grid.worst_case_so_far(single)
  np.testing.assert_array_equal(single[0], clean)
  accuracy = worst.mean(axis=1)
  assert accuracy[0] == clean.mean()
  assert np.all(np.diff(accuracy) <= 0)
  assert accuracy[-1] < accuracy[0]  # The attack does something at eps = 0.3.


def test_vmapped_grid_matches_one_eps_at_a_time():
  variables, images, labels = _problem(n=12, seed=3)
  attack = linf.LinfAttack('pgd', steps=5, step_size_frac=0.3)
  logits_fn = lambda x: LinearApply()(variables, x)
  key = jax.random.key(7)
  together = eps_grid.correct_over_eps(attack, logits_fn, images, labels, EPS, key)
  for e, eps in enumerate(EPS):
    x_adv = attack(logits_fn, images, labels, eps, key)
    alone = jnp.argmax(logits_fn(x_adv), -1) == labels
    np.testing.assert_array_equal(np.asarray(together[e]), np.asarray(alone))


def test_chunking_does_not_change_deterministic_verdicts():
  # FGSM has no randomness, so any chunk size must give identical verdicts.
  variables, images, labels = _problem(n=23, seed=5)
  attack = linf.LinfAttack('fgsm')
  results = [eps_grid.evaluate_over_eps(attack, LinearApply(), variables, images, labels,
                                        EPS, jax.random.key(0), max_images_per_program=m)
             for m in (5, 17, 1000)]
  for other in results[1:]:
    np.testing.assert_array_equal(results[0], other)


def test_worst_case_so_far_is_cumulative_and():
  correct = np.array([[1, 1, 1, 0], [0, 1, 1, 1], [1, 1, 0, 1]], bool)
  expected = np.array([[1, 1, 1, 0], [0, 1, 1, 0], [0, 1, 0, 0]], bool)
  np.testing.assert_array_equal(eps_grid.worst_case_so_far(correct), expected)
