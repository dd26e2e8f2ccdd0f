"""Standard and adversarial training: state, pure steps, the epoch loop."""
