"""Projected gradient ascent under L-inf or L2, composed from the parts in
`norms` (start, step, projection), `objectives` (loss, target) and
`best_iterate` (which iterate to return). FGSM / FGM is its one-step case.
"""

import jax

from medadv_jax.attacks import best_iterate, norms, objectives


def pgd(logits_fn, x, y, eps, key, *, steps: int, step_size_frac: float,
        random_start: bool = True, target_mode: str = 'untargeted',
        norm: str = 'linf', loss: str = 'ce'):
  """Projected gradient ascent of `loss` inside the `norm` eps-ball and [0, 1].

  Args:
    logits_fn: (N, H, W, C) -> (N, K) logits (softmax) or (N, L) (sigmoid,
      multi-label, when y is (N, L)).
    x: clean images in [0, 1], (N, H, W, C).
    y: true labels, int (N,), or 0/1 (N, L) for multi-label tasks.
    eps: radius in [0, 1] pixel units (L2: Euclidean length), scalar or (N,).
    key: one PRNG key, or (N,) keys, one per example (see `norms.example_keys`).
    steps: number of gradient steps (static).
    step_size_frac: step length as a fraction of eps (the paper: 0.1).
    random_start: start from a uniform point of the ball instead of `x`.
    target_mode: one of `objectives.TARGET_MODES`.
    norm: one of `norms.NORMS`.
    loss: one of `objectives.LOSSES`.

  Returns:
    (N, H, W, C) images in the ball and in [0, 1]: the first iterate that
    succeeds (see `best_iterate`), else the last iterate.
  """
  keys = norms.example_keys(key, x.shape[0])
  targets = objectives.attack_labels(logits_fn, x, y, target_mode)
  value_and_grad = objectives.value_and_grad_fn(logits_fn, loss, y, targets, target_mode)
  step_size = step_size_frac * norms.per_example(eps, x)
  x_start = norms.random_start(x, eps, keys, norm) if random_start else x

  def body(_, carry):
    x_cur, best = carry
    (_, (_, logits)), grad = value_and_grad(x_cur)
    # The logits of x_cur come with the gradient for free.
    best = best_iterate.update(
        best, x_cur, objectives.success_level(logits, y, targets, target_mode))
    x_next = norms.project(norms.ascent_step(x_cur, grad, step_size, norm), x, eps, norm)
    return x_next, best

  x_last, best = jax.lax.fori_loop(0, steps, body, (x_start, best_iterate.init(x_start)))
  # One more forward pass grades the last iterate too: a targeted attack may
  # reach its target only there, after an earlier merely-misclassified iterate.
  level = objectives.success_level(logits_fn(x_last), y, targets, target_mode)
  return best_iterate.result(best_iterate.update(best, x_last, level), x_last)


def fgsm(logits_fn, x, y, eps, key, *, target_mode: str = 'untargeted',
         norm: str = 'linf'):
  """Fast gradient sign method (L-inf) / fast gradient method (L2): one step of
  length eps from the clean image."""
  return pgd(logits_fn, x, y, eps, key, steps=1, step_size_frac=1.0,
             random_start=False, target_mode=target_mode, norm=norm)
