"""The run-time check of a model's certificates: are they really proofs?

Certificates let the cascade skip images, so a bound that lied would raise
the reported accuracy with nothing to show for it. Every evaluated model's
certificates are therefore attacked: a random sample of the certified images,
each at its largest certified radius (a ball holding every smaller certified
one), with the strongest gradient attacks configured. Any image fooled there
disproves a certificate, and the model is evaluated without certificates.
"""

import dataclasses
import zlib

import numpy as np

from medadv_jax.attacks import registry, schedules


@dataclasses.dataclass(frozen=True)
class CertificateCheck:
  checked: int  # Certified images attacked (each at its largest certified radius).
  fooled: int  # Of those, how many the attacks fooled.
  certified: int  # Images certified at some radius, of the attacked set.

  @property
  def trusted(self) -> bool:
    return self.fooled == 0


def check(certificates: schedules.Certificates, attack_specs, apply_fn, variables, images,
          labels, sample: int, seed: int, max_images_per_program: int) -> CertificateCheck:
  """Attacks up to `sample` certified images (chosen by `seed`) with each of
  `attack_specs` at its largest certified radius."""
  certified = np.flatnonzero(certificates.certified)
  rng = np.random.default_rng([seed, zlib.crc32(b'certificate_check')])
  chosen = np.sort(rng.choice(certified, min(sample, certified.size), replace=False))
  radii = certificates.radius[chosen].astype(np.float32)
  fooled = np.zeros(chosen.size, bool)
  for spec in attack_specs:
    if chosen.size == 0:
      break
    key = registry.attack_key(seed, spec, 'certificate_check/')
    fooled |= ~schedules.correct_at(spec, apply_fn, variables, images, labels, chosen,
                                    radii, key, max_images_per_program)
  return CertificateCheck(int(chosen.size), int(fooled.sum()), int(certified.size))
