"""medadv-jax: model complexity versus adversarial robustness on medical images.

`medadv_jax.evaluate_robustness(apply_fn, variables, images, labels, attack_config)`
gives one's own model the study's robustness rows (docs/own_model.md).
"""


def __getattr__(name):
  # Imported on first use: `import medadv_jax.errors` must not pull in JAX programs.
  if name == 'evaluate_robustness':
    from medadv_jax.evaluation.any_model import evaluate_robustness  # pylint: disable=g-import-not-at-top
    return evaluate_robustness
  raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
