"""Attacks as pure functions `(logits_fn, x, y, eps, key) -> x_adv`.

Images and epsilons are in [0, 1] pixel units; `logits_fn` maps (N, H, W, C)
images to (N, K) logits (or (N, L) sigmoid logits for multi-label tasks) and
must be differentiable for the gradient attacks. Parts: `norms` (projection,
random start, ascent step), `objectives` (losses, targets, success),
`best_iterate` (which iterate to return). Attacks: `pgd` (and FGSM), `apgd`,
`square`, `fab` (minimum-norm: also each image's smallest fooling radius); `registry.AttackSpec` binds one by name. Many radii at once:
`schedules` ('vmap' via `eps_grid`, 'loop', 'cascade', 'min_eps' via `min_eps`).
`linf` keeps the paper's L-inf FGSM/PGD and the parts training uses.
"""
