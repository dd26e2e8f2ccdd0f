"""Auto-PGD (Croce and Hein, ICML 2020): PGD with momentum and a step size that
halves at checkpoints where the loss stopped rising.

Follows the reference implementation (fra31/auto-attack, `autopgd_base.py`):
step 2 eps, momentum 0.75 from the second step, checkpoints after 22 % of the
budget and then at windows shrinking by 3 % down to 6 %; at a checkpoint the
step halves (and the iterate restarts from the best point) if the loss rose
in at most rho = 75 % of the window's steps, or if the step was not halved at
the previous checkpoint and the best loss has not improved since. Per example.
"""

import jax
import jax.numpy as jnp
import numpy as np

from medadv_jax.attacks import best_iterate, norms, objectives

RHO = 0.75
MOMENTUM = 0.75


def checkpoint_schedule(steps: int) -> tuple[np.ndarray, np.ndarray]:
  """Which iterations end a window, and each window's length.

  Returns:
    is_check: bool (steps,), True at the last iteration of each window.
    window: int (steps,), the length of the window ending there (0 elsewhere).
  """
  window_len = max(int(0.22 * steps), 1)
  shrink, shortest = max(int(0.03 * steps), 1), max(int(0.06 * steps), 1)
  is_check, window = np.zeros(steps, bool), np.zeros(steps, np.int32)
  since = 0
  for i in range(steps):
    since += 1
    if since == window_len:
      is_check[i], window[i] = True, window_len
      window_len, since = max(window_len - shrink, shortest), 0
  return is_check, window


def apgd(logits_fn, x, y, eps, key, *, steps: int, loss: str = 'ce',
         target_mode: str = 'untargeted', norm: str = 'linf',
         random_start: bool = True):
  """APGD on `loss` ('ce', 'dlr' or 'margin'; see `objectives`).

  Args and shapes as `pgd.pgd`: x (N, H, W, C) in [0, 1], y (N,) int (or
  (N, L) 0/1 multi-label), eps scalar or (N,) in [0, 1] pixel units, key one
  key or (N,) keys.

  Returns:
    The first iterate that succeeds (see `best_iterate`), else the iterate of
    highest loss; inside the ball and inside [0, 1].
  """
  keys = norms.example_keys(key, x.shape[0])
  targets = objectives.attack_labels(logits_fn, x, y, target_mode)
  value_and_grad = objectives.value_and_grad_fn(logits_fn, loss, y, targets, target_mode)
  level_of = lambda logits: objectives.success_level(logits, y, targets, target_mode)
  is_check, window = (jnp.asarray(a) for a in checkpoint_schedule(steps))
  where = lambda mask, a, b: jnp.where(norms.broadcastable(mask, a), a, b)

  x0 = norms.random_start(x, eps, keys, norm) if random_start else x
  (_, (loss0, logits0)), grad0 = value_and_grad(x0)
  state = dict(
      x=x0, x_prev=x0, grad=grad0, loss=loss0,
      step=2.0 * jnp.broadcast_to(jnp.asarray(eps, x.dtype), loss0.shape),
      x_max=x0, grad_max=grad0, loss_max=loss0,
      loss_max_at_check=loss0, halved_at_check=jnp.ones(loss0.shape, bool),
      rises=jnp.zeros(loss0.shape, jnp.int32),
      best=best_iterate.update(best_iterate.init(x0), x0, level_of(logits0)))

  def body(i, s):
    momentum = jnp.where(i > 0, MOMENTUM, 1.0)
    z = norms.project(norms.ascent_step(s['x'], s['grad'], s['step'], norm), x, eps, norm)
    x_new = norms.project(s['x'] + momentum * (z - s['x'])
                          + (1.0 - momentum) * (s['x'] - s['x_prev']), x, eps, norm)
    (_, (loss_new, logits)), grad_new = value_and_grad(x_new)
    best = best_iterate.update(s['best'], x_new, level_of(logits))
    rises = s['rises'] + (loss_new > s['loss']).astype(jnp.int32)
    improved = loss_new > s['loss_max']
    x_max, grad_max = where(improved, x_new, s['x_max']), where(improved, grad_new, s['grad_max'])
    loss_max = jnp.maximum(loss_new, s['loss_max'])

    check = is_check[i]
    stalled = ~s['halved_at_check'] & (s['loss_max_at_check'] >= loss_max)
    halve = check & ((rises <= window[i] * RHO) | stalled)
    return dict(
        x=where(halve, x_max, x_new), x_prev=s['x'],
        grad=where(halve, grad_max, grad_new), loss=loss_new,
        step=jnp.where(halve, 0.5 * s['step'], s['step']),
        x_max=x_max, grad_max=grad_max, loss_max=loss_max,
        loss_max_at_check=jnp.where(check, loss_max, s['loss_max_at_check']),
        halved_at_check=jnp.where(check, halve, s['halved_at_check']),
        rises=jnp.where(check, 0, rises), best=best)

  state = jax.lax.fori_loop(0, steps, body, state)
  return best_iterate.result(state['best'], state['x_max'])
