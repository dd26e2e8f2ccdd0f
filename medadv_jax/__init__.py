"""medadv-jax: model complexity versus adversarial robustness on medical images."""
