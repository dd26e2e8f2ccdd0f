"""The attacks adversarial training trains on, from the L-inf parts of `attacks.norms`.

They differ from the evaluation attacks on purpose: evaluation reports the
first iterate that fools the model (any point of the ball is a valid attack),
whereas training wants the point of highest loss the steps reach, so these
return the last iterate (Madry et al. 2018; Wong et al. 2020; Zhang et al. 2019).
Images and eps are in [0, 1] pixel units; `logits_fn` maps (N, H, W, C) to
(N, K) logits; labels are int (N,), or 0/1 (N, L) for multi-label tasks
(sigmoid outputs, see `losses`).
"""

import jax
import jax.numpy as jnp

from medadv_jax.attacks import norms
from medadv_jax.training import losses

# TRADES starts its inner maximisation this close to the clean image (Zhang et
# al.'s code): the KL objective has zero gradient at the clean image itself.
TRADES_START_STD = 1e-3


def madry_pgd(logits_fn, x, y, eps, key, *, steps: int,
              step_size_frac: float) -> jnp.ndarray:
  """Untargeted PGD on the training loss from a uniform random start; last iterate.

  Returns images of x's shape, inside the eps-ball around `x` and inside [0, 1].
  """
  grad_fn = jax.grad(lambda x_adv: jnp.sum(losses.cross_entropy(logits_fn(x_adv), y)))
  step_size = step_size_frac * eps

  def body(_, x_cur):
    return _sign_step(x_cur, grad_fn(x_cur), step_size, x, eps)

  return jax.lax.fori_loop(0, steps, body, uniform_start(x, eps, key))


def fgsm_rs(logits_fn, x, y, eps, key, *, step_size_frac: float = 1.25) -> jnp.ndarray:
  """FGSM from a uniform random start ("fast" adversarial training, Wong et al. 2020).

  One signed-gradient step of `step_size_frac * eps` (they use 1.25), then
  projected back into the ball.
  """
  return madry_pgd(logits_fn, x, y, eps, key, steps=1, step_size_frac=step_size_frac)


def trades_kl_attack(logits_fn, x, eps, key, *, steps: int, step_size_frac: float,
                     multi_label: bool = False) -> jnp.ndarray:
  """TRADES' inner maximisation: the point of the ball whose prediction is furthest
  (in KL) from the clean prediction, found by sign ascent. Needs no labels.
  """
  clean_logits = jax.lax.stop_gradient(logits_fn(x))
  grad_fn = jax.grad(lambda x_adv: jnp.sum(losses.kl_to_clean(
      clean_logits, logits_fn(x_adv), multi_label)))
  step_size = step_size_frac * eps
  x_start = norms.project(x + TRADES_START_STD * jax.random.normal(key, x.shape, x.dtype),
                          x, eps, 'linf')

  def body(_, x_cur):
    return _sign_step(x_cur, grad_fn(x_cur), step_size, x, eps)

  return jax.lax.fori_loop(0, steps, body, x_start)


def uniform_start(x: jnp.ndarray, eps, key: jax.Array) -> jnp.ndarray:
  """A uniformly random point of the L-inf eps-ball, clipped to [0, 1] (one key
  for the batch)."""
  noise = jax.random.uniform(key, x.shape, x.dtype, minval=-1.0, maxval=1.0)
  return norms.project(x + eps * noise, x, eps, 'linf')


def _sign_step(x_cur, grad, step_size, x, eps) -> jnp.ndarray:
  """Steepest L-inf ascent, projected back into the eps-ball and [0, 1]."""
  return norms.project(norms.ascent_step(x_cur, grad, step_size, 'linf'), x, eps, 'linf')
