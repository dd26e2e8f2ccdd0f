"""The config's `attack` section turned into attacks: the one place that does it."""

import dataclasses
import math

from medadv_jax.attacks import registry
from medadv_jax.runtime import devices


# Attacks whose steps follow the sign (or direction) of the loss gradient: on two
# classes, least-likely targeting is the untargeted attack (see attack_specs).
_DIRECTION_ATTACKS = ('fgsm', 'pgd', 'pgd_l2')


def attack_specs(attack_config, image_shape=None,
                 num_classes: int = 0) -> list[registry.AttackSpec]:
  """Every (attack, target) pair the config asks for, in config order.

  `image_shape` (H, W, C) sets the L2 radius scale when `l2_eps_scale` is 0.
  With `num_classes` 2 (single-label) and `skip_binary_least_likely`, FGSM, PGD and
  PGD-L2 are not run least-likely-targeted beside untargeted: the least likely
  class is the other one, and the gradient of its cross-entropy (descended) and
  that of the true class's (ascended) are negative multiples of the same logit
  margin's, so every sign or normalised step is the same.
  """
  c = attack_config
  skip = least_likely_skipped(c, num_classes)
  specs = []
  for name in c.names:
    for target in c.targets:
      if skip and target == 'least_likely' and name in _DIRECTION_ATTACKS:
        continue
      if name == 'fgsm':
        spec = registry.AttackSpec('fgsm', target, steps=1, step_size_frac=1.0,
                                   random_start=False)
      elif name in ('pgd', 'pgd_l2'):
        spec = registry.AttackSpec(name, target, steps=c.pgd_steps,
                                   step_size_frac=c.pgd_step_size_frac,
                                   random_start=c.random_start, restarts=c.restarts)
        if name == 'pgd_l2':
          spec = dataclasses.replace(spec, eps_scale=l2_eps_scale(c, image_shape))
      elif name in ('apgd_ce', 'apgd_dlr'):
        spec = registry.AttackSpec(name, target, steps=c.apgd_steps,
                                   random_start=c.random_start, restarts=c.restarts)
      elif name == 'fab':  # The reference's FAB starts at the clean image.
        spec = registry.AttackSpec('fab', target, steps=c.apgd_steps, random_start=False,
                                   restarts=c.restarts)
      else:
        spec = registry.AttackSpec(name, target, steps=c.square_queries,
                                   restarts=c.restarts, p_init=c.square_p_init)
      specs.append(spec)
  return specs


def least_likely_skipped(attack_config, num_classes: int) -> bool:
  """Whether `attack_specs` leaves out least-likely FGSM, PGD and PGD-L2 for a
  single-label task of `num_classes` classes (2, with untargeted also run)."""
  c = attack_config
  return (num_classes == 2 and bool(c.skip_binary_least_likely)
          and 'untargeted' in c.targets and 'least_likely' in c.targets
          and any(name in _DIRECTION_ATTACKS for name in c.names))


def l2_eps_scale(attack_config, image_shape) -> float:
  """L2 radius per unit of grid eps; 0 in the config: sqrt(H W C), the smallest L2
  ball that contains the L-inf ball of the same eps."""
  if attack_config.l2_eps_scale > 0:
    return float(attack_config.l2_eps_scale)
  return math.sqrt(math.prod(image_shape))


def images_per_program(attack_config) -> int:
  """Images (times radii for 'vmap') one attack program may hold: the config's
  bound is on each device's share, since memory is per device and a program
  is split over every device (`runtime.devices`)."""
  return attack_config.max_images_per_program * devices.count()


def training_pgd(adv_config) -> registry.AttackSpec:
  """Untargeted PGD with `train.adv`'s steps and step size, from a random start:
  the attack that scores validation during adversarial training."""
  return registry.AttackSpec('pgd', 'untargeted', steps=adv_config.steps,
                             step_size_frac=adv_config.step_size_frac, random_start=True)
