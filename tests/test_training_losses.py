"""Losses and metrics of every task type, against closed forms."""

import jax.numpy as jnp
import numpy as np
import pytest

from medadv_jax.training import losses


def test_kl_to_clean_matches_the_closed_form():
  clean = jnp.array([[0.0, 0.0]])
  other = jnp.array([[0.0, jnp.log(3.0)]])  # p = (1/2, 1/2), q = (1/4, 3/4).
  expected = 0.5 * np.log(2.0) + 0.5 * np.log(2.0 / 3.0)
  np.testing.assert_allclose(losses.kl_to_clean(clean, other), [expected], rtol=1e-6)
  np.testing.assert_allclose(losses.kl_to_clean(other, other), [0.0], atol=1e-7)


def test_multi_label_kl_averages_the_bernoulli_kls_of_the_labels():
  # Label 1: p = 1/2 vs q = 3/4; label 2: p = q = 1/4 (contributes 0). Averaged
  # over the 2 labels, like the multi-label cross-entropy.
  clean = jnp.array([[0.0, -jnp.log(3.0)]])
  other = jnp.array([[jnp.log(3.0), -jnp.log(3.0)]])
  expected = (0.5 * np.log(0.5 / 0.75) + 0.5 * np.log(0.5 / 0.25)) / 2
  np.testing.assert_allclose(losses.kl_to_clean(clean, other, multi_label=True),
                             [expected], rtol=1e-6)


def test_multi_label_cross_entropy_is_the_mean_binary_cross_entropy_over_labels():
  logits = jnp.array([[0.0, jnp.log(3.0), -jnp.log(3.0)]])  # sigmoid: 1/2, 3/4, 1/4.
  labels = jnp.array([[1, 1, 0]], jnp.int32)
  expected = -(np.log(0.5) + np.log(0.75) + np.log(0.75)) / 3
  np.testing.assert_allclose(losses.cross_entropy(logits, labels), [expected], rtol=1e-6)


def test_single_label_cross_entropy_is_the_softmax_cross_entropy():
  logits = jnp.array([[0.0, jnp.log(3.0)]])  # softmax: 1/4, 3/4.
  np.testing.assert_allclose(losses.cross_entropy(logits, jnp.array([1])), [-np.log(0.75)],
                             rtol=1e-6)


@pytest.mark.parametrize('labels, expected', [
    ([[1, 0, 1], [1, 0, 1]], 1.0),  # Both images: every label on the right side.
    ([[1, 0, 0], [0, 0, 1]], 0.0),  # Each image has one label wrong: not exact.
    ([[1, 0, 1], [1, 1, 1]], 0.5),
])
def test_multi_label_accuracy_is_the_exact_match_rate(labels, expected):
  logits = jnp.array([[2.0, -1.0, 0.5], [3.0, -2.0, 1.0]])
  assert float(losses.accuracy(logits, jnp.array(labels))) == pytest.approx(expected)
