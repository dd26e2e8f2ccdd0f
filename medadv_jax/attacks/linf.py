"""L-infinity attacks composed from parts: start, ascent step, projection.

`pgd` is the loop; `fgsm` is its one-step, no-random-start case. Both return
the first iterate that is misclassified (per example), else the last iterate:
any point inside the ball is a valid adversarial example, so reporting the
best one found is the attacker's right and makes the attack no weaker.
"""

import dataclasses

import jax
import jax.numpy as jnp

from medadv_jax.attacks import objectives


def project(x_adv: jnp.ndarray, x: jnp.ndarray, eps) -> jnp.ndarray:
  """Nearest point of the eps-ball around `x` that is also inside [0, 1]."""
  return jnp.clip(jnp.clip(x_adv, x - eps, x + eps), 0.0, 1.0)


def uniform_start(x: jnp.ndarray, eps, key: jax.Array) -> jnp.ndarray:
  """A uniformly random point of the eps-ball, clipped to [0, 1]."""
  noise = jax.random.uniform(key, x.shape, x.dtype, minval=-1.0, maxval=1.0)
  return project(x + eps * noise, x, eps)


def sign_ascent(x_cur: jnp.ndarray, grad: jnp.ndarray, step_size) -> jnp.ndarray:
  """Steepest ascent under the L-infinity norm."""
  return x_cur + step_size * jnp.sign(grad)


def pgd(logits_fn, x, y, eps, key, *, steps: int, step_size_frac: float,
        random_start: bool = True, target_mode: str = 'untargeted') -> jnp.ndarray:
  """Projected gradient descent inside the L-infinity eps-ball.

  Args:
    logits_fn: (N, H, W, C) -> (N, K) logits.
    x: clean images in [0, 1], (N, H, W, C).
    y: true labels, int (N,).
    eps: ball radius in [0, 1] pixel units (a scalar; `vmap` for a grid).
    key: PRNG key for the random start.
    steps: number of gradient steps (static).
    step_size_frac: step size as a fraction of eps (the paper uses 0.1).
    random_start: start from a uniform point of the ball instead of `x`.
    target_mode: 'untargeted' or 'least_likely' (see `objectives`).

  Returns:
    Adversarial images of x's shape, inside the ball and inside [0, 1].
  """
  labels = objectives.attack_labels(logits_fn, x, y, target_mode)
  objective = objectives.summed_objective_and_logits(logits_fn, labels, target_mode)
  value_and_grad = jax.value_and_grad(objective, has_aux=True)
  step_size = step_size_frac * eps
  x_start = uniform_start(x, eps, key) if random_start else x

  def body(_, carry):
    x_cur, x_best, found = carry
    (_, logits), grad = value_and_grad(x_cur)
    # The logits of x_cur come with the gradient for free: remember the first
    # iterate that fools the model.
    fooled_now = objectives.misclassified(logits, y) & ~found
    x_best = jnp.where(_per_example(fooled_now, x), x_cur, x_best)
    found = found | fooled_now
    x_next = project(sign_ascent(x_cur, grad, step_size), x, eps)
    return x_next, x_best, found

  found0 = jnp.zeros(y.shape, bool)
  x_last, x_best, found = jax.lax.fori_loop(0, steps, body, (x_start, x_start, found0))
  return jnp.where(_per_example(found, x), x_best, x_last)


def fgsm(logits_fn, x, y, eps, key, *, target_mode: str = 'untargeted') -> jnp.ndarray:
  """Fast gradient sign method: one step of size eps from the clean image."""
  return pgd(logits_fn, x, y, eps, key, steps=1, step_size_frac=1.0,
             random_start=False, target_mode=target_mode)


def _per_example(mask: jnp.ndarray, like: jnp.ndarray) -> jnp.ndarray:
  return mask.reshape(mask.shape + (1,) * (like.ndim - 1))


ATTACK_NAMES = ('fgsm', 'pgd')


@dataclasses.dataclass(frozen=True)
class LinfAttack:
  """An attack with its options bound: `(logits_fn, x, y, eps, key) -> x_adv`.

  Hashes by value, so it can be a static argument of jitted programs and equal
  attacks share one compiled program.
  """
  name: str  # One of ATTACK_NAMES.
  target: str = 'untargeted'  # One of objectives.TARGET_MODES.
  steps: int = 1  # PGD only; FGSM is one step.
  step_size_frac: float = 0.1  # PGD only; FGSM steps by eps.
  random_start: bool = True  # PGD only; FGSM starts at the clean image.

  def __call__(self, logits_fn, x, y, eps, key):
    if self.name == 'fgsm':
      return fgsm(logits_fn, x, y, eps, key, target_mode=self.target)
    return pgd(logits_fn, x, y, eps, key, steps=self.steps,
               step_size_frac=self.step_size_frac, random_start=self.random_start,
               target_mode=self.target)
