"""On-device augmentation: shifts with edge fill, flips, switches and determinism."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from medadv_jax.data import augment, medmnist_catalog


def _ramp_batch(n=16, size=10):
  """Images whose pixel (r, c) holds r * size + c: every pixel is traceable."""
  image = np.arange(size * size, dtype=np.float32).reshape(size, size, 1) / (size * size)
  return jnp.asarray(np.repeat(image[None], n, axis=0))


def test_switched_off_augmentation_is_the_identity():
  images = _ramp_batch()
  out = augment.augment_batch(images, jax.random.key(0), shift_frac=0.0, hflip=False)
  np.testing.assert_array_equal(out, images)


def test_flip_only_mirrors_some_images_left_right_and_keeps_the_others():
  images = _ramp_batch(n=64)
  out = np.asarray(augment.augment_batch(images, jax.random.key(1), shift_frac=0.0))
  flipped = [np.array_equal(o, np.asarray(images[0])[:, ::-1]) for o in out]
  kept = [np.array_equal(o, np.asarray(images[0])) for o in out]
  assert all(f or k for f, k in zip(flipped, kept)) and 10 < sum(flipped) < 54


def test_shift_moves_content_by_at_most_the_fraction_and_fills_with_the_edge():
  size = 10
  images = _ramp_batch(n=64, size=size)
  out = np.asarray(augment.augment_batch(images, jax.random.key(2), shift_frac=0.2,
                                         hflip=False))
  ramp = np.asarray(images[0, :, :, 0]) * size * size
  shifts = set()
  for o in out[..., 0] * size * size:
    # Recover the shift from the centre pixel, then check the whole image.
    value = int(round(o[5, 5]))
    dy, dx = 5 - value // size, 5 - value % size
    assert abs(dy) <= 2 and abs(dx) <= 2
    rows = np.clip(np.arange(size) - dy, 0, size - 1)
    cols = np.clip(np.arange(size) - dx, 0, size - 1)
    np.testing.assert_allclose(o, ramp[rows][:, cols], atol=1e-3)
    shifts.add((dy, dx))
  assert len(shifts) > 5  # Shifts vary from image to image.


def test_same_key_same_batch_and_jittable():
  images = _ramp_batch()
  fn = jax.jit(augment.augment_batch, static_argnames=('shift_frac', 'hflip'))
  a = fn(images, jax.random.key(3), shift_frac=0.1, hflip=True)
  b = augment.augment_batch(images, jax.random.key(3), shift_frac=0.1, hflip=True)
  c = augment.augment_batch(images, jax.random.key(4), shift_frac=0.1, hflip=True)
  np.testing.assert_array_equal(a, b)
  assert not np.array_equal(a, c) and a.shape == images.shape and a.dtype == images.dtype


def test_auto_flips_unless_a_class_names_a_body_side():
  auto = ml_collections.ConfigDict(dict(shift_frac=0.1, hflip='auto'))
  organs = medmnist_catalog.CATALOG['organamnist'].label_names
  pneumonia = medmnist_catalog.CATALOG['pneumoniamnist'].label_names
  assert augment.AugmentSettings.from_config(auto, organs) == augment.AugmentSettings(0.1,
                                                                                      False)
  assert augment.AugmentSettings.from_config(auto, pneumonia) == augment.AugmentSettings(
      0.1, True)
  forced = ml_collections.ConfigDict(dict(shift_frac=0.0, hflip='on'))
  settings = augment.AugmentSettings.from_config(forced, organs)
  assert settings.hflip and settings.enabled
  off = ml_collections.ConfigDict(dict(shift_frac=0.0, hflip='off'))
  assert not augment.AugmentSettings.from_config(off, pneumonia).enabled
