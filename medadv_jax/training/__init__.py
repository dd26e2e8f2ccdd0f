"""Standard and adversarial training (PGD, FGSM-RS, TRADES): state, steps, the loop."""
