"""Per-backend compiler options: CPU programs get optimisation level 1, values unchanged."""

import jax
import jax.numpy as jnp
import numpy as np

from medadv_jax import xla_options


def test_cpu_programs_get_level_one_and_other_backends_the_defaults(monkeypatch):
  assert jax.default_backend() == 'cpu'  # The test machines have no accelerator.
  assert xla_options.compiler_options() == {'xla_backend_optimization_level': 1}
  monkeypatch.setattr(jax, 'default_backend', lambda: 'gpu')
  assert xla_options.compiler_options() is None


def test_the_wrapped_program_computes_what_jax_jit_does_and_keeps_static_arguments():
  def scaled_softmax(power, x):
    return jax.nn.softmax(x ** power)

  wrapped = xla_options.jit(scaled_softmax, static_argnums=0)
  x = jnp.linspace(-1.0, 1.0, 7)
  np.testing.assert_allclose(wrapped(2, x), jax.jit(scaled_softmax, static_argnums=0)(2, x),
                             rtol=1e-6)
  np.testing.assert_allclose(wrapped(3, x), jax.nn.softmax(x ** 3), rtol=1e-6)

  @xla_options.jit(static_argnums=(1,))
  def repeat(x, times):
    return jnp.tile(x, times)

  assert repeat(jnp.ones(2), 3).shape == (6,)
