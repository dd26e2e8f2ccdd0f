"""On-device augmentation: the paper's random shifts and horizontal flips.

Keras' ImageDataGenerator(width_shift_range=0.1, height_shift_range=0.1,
horizontal_flip=True) as used by the paper: each image is shifted by a whole
number of pixels up to `shift_frac` of its side in each direction, the
uncovered border filled with the nearest edge pixel (Keras' fill_mode
'nearest'), and mirrored left-right with probability 1/2. Pure and jittable;
the same key gives the same batch.
"""

import dataclasses

import jax
import jax.numpy as jnp

HFLIP_CHOICES = ('auto', 'on', 'off')


@dataclasses.dataclass(frozen=True)
class AugmentSettings:
  """What the train step does to each training batch; `enabled` False: nothing."""
  shift_frac: float = 0.0
  hflip: bool = False

  @property
  def enabled(self) -> bool:
    return self.shift_frac > 0 or self.hflip

  @classmethod
  def from_config(cls, augment_config, label_names) -> 'AugmentSettings':
    """From `config.data.augment` and the dataset's label names.

    hflip 'auto' mirrors images unless a label names a side ('kidney-left'
    ...): mirroring such an image turns it into the other class (OrganMNIST).
    """
    hflip = augment_config.hflip
    if hflip == 'auto':
      hflip = 'off' if has_laterality(label_names) else 'on'
    return cls(shift_frac=float(augment_config.shift_frac), hflip=hflip == 'on')


def has_laterality(label_names) -> bool:
  """Whether some class is defined by a body side, so left-right flips change labels."""
  return any(name.lower().endswith(('-left', '-right', ' left', ' right'))
             for name in label_names)


def augment_batch(images: jnp.ndarray, key: jax.Array, shift_frac: float = 0.1,
                  hflip: bool = True) -> jnp.ndarray:
  """Augments images (N, H, W, C) in [0, 1]; returns the same shape and dtype.

  `shift_frac=0` and `hflip=False` return the images unchanged, so each part
  can be switched off per dataset (a left-right flip changes the meaning of
  some images, e.g. organ laterality in OrganMNIST).
  """
  n, height, width, _ = images.shape
  max_dy, max_dx = int(shift_frac * height), int(shift_frac * width)
  if max_dy == 0 and max_dx == 0 and not hflip:
    return images
  key_dy, key_dx, key_flip = jax.random.split(key, 3)
  dy = jax.random.randint(key_dy, (n,), -max_dy, max_dy + 1)
  dx = jax.random.randint(key_dx, (n,), -max_dx, max_dx + 1)
  flip = (jax.random.bernoulli(key_flip, 0.5, (n,)) if hflip
          else jnp.zeros((n,), bool))
  return jax.vmap(_shift_flip_one)(images, dy, dx, flip)


def _shift_flip_one(image, dy, dx, flip):
  """Output pixel (r, c) reads input (r - dy, c - dx), clipped to the border."""
  height, width = image.shape[:2]
  rows = jnp.clip(jnp.arange(height) - dy, 0, height - 1)
  cols = jnp.clip(jnp.arange(width) - dx, 0, width - 1)
  cols = jnp.where(flip, cols[::-1], cols)
  return image[rows][:, cols]
