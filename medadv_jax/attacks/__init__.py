"""White-box attacks as pure functions `(logits_fn, x, y, eps, key) -> x_adv`.

Images and epsilons are in [0, 1] pixel units; `logits_fn` maps (N, H, W, C)
images to (N, K) logits and must be differentiable.
"""
