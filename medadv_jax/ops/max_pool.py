"""The 2x2 stride-2 max-pool with nn.max_pool's values and gradient, at a
fraction of the gradient's CPU cost.

Every attack step takes this pool's gradient, and on a CPU nn.max_pool's is
a large share of the step: XLA's gradient of `reduce_window` is a
select-and-scatter, and autodiff of a reshape-and-max form counts the ties in
each window and divides by the count. Here the forward pass, when
differentiated, also records which of the window's four pixels won, as an
int8, and the backward pass is one element-wise pass that routes each
cotangent to that pixel (measurements: benchmarks/README.md).

The gradient is nn.max_pool's exactly, ties included: a window's whole
cotangent goes to its first maximum in row-major order, as XLA's
select-and-scatter gives it (and TensorFlow's and PyTorch's max-pools).
Ties are common: 0 after a ReLU, but also positive values, e.g. a
convolution over a constant region such as an X-ray's black border.
"""

import jax
import jax.numpy as jnp


def max_pool_2x2(x):
  """2x2 stride-2 max-pool of x (N, H, W, C), as nn.max_pool(x, (2, 2), strides=(2, 2)).

  An odd last row or column is dropped ('VALID'), as nn.max_pool does; it
  gets no gradient.
  """
  _, height, width, _ = x.shape
  return _max_pool_even(x[:, :height // 2 * 2, :width // 2 * 2])


def _windows(x):
  """(N, H, W, C) with even H and W -> (N, H/2, 2, W/2, 2, C)."""
  n, height, width, channels = x.shape
  return x.reshape(n, height // 2, 2, width // 2, 2, channels)


@jax.custom_vjp
def _max_pool_even(x):
  # Undifferentiated, a reshape and a `reduce_max`: the form bound propagation
  # (`attacks.linear_bounds`) reads and relaxes as a max-pool.
  return jnp.max(_windows(x), axis=(2, 4))


def _max_pool_forward(x):
  windows = _windows(x)
  # Row-major order: the order in which ties are resolved.
  corners = [windows[:, :, row, :, col] for row in range(2) for col in range(2)]
  # A running maximum over the four slices (one element-wise pass, faster than
  # the reduction). A later corner wins only when strictly larger, so the first
  # maximum wins ties; the winner is never found by testing a corner for
  # equality with the pooled value, which a compiled program may compute with
  # other rounding than the corner it is compared with.
  pooled, winner = corners[0], jnp.zeros(corners[0].shape, jnp.int8)
  for position in (1, 2, 3):
    larger = corners[position] > pooled
    pooled = jnp.where(larger, corners[position], pooled)
    winner = jnp.where(larger, jnp.int8(position), winner)
  return pooled, winner


def _max_pool_backward(winner, cotangent):
  n, half_height, half_width, channels = cotangent.shape
  position = (2 * jnp.arange(2, dtype=jnp.int8)[:, None]
              + jnp.arange(2, dtype=jnp.int8)[None, :])[None, None, :, None, :, None]
  expand = lambda a: a[:, :, None, :, None, :]
  gradient = jnp.where(position == expand(winner), expand(cotangent),
                       jnp.zeros((), cotangent.dtype))
  return (gradient.reshape(n, 2 * half_height, 2 * half_width, channels),)


_max_pool_even.defvjp(_max_pool_forward, _max_pool_backward)
