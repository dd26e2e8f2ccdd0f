"""Per-backend compiler options: CPU programs get optimisation level 1 and no
YNNPACK library fusions, values unchanged."""

import jax
import jax.numpy as jnp
import numpy as np

from medadv_jax.ops import xla_options


def test_cpu_programs_get_level_one_and_other_backends_the_defaults(monkeypatch):
  assert jax.default_backend() == 'cpu'  # The test machines have no accelerator.
  assert xla_options.compiler_options() == {'xla_backend_optimization_level': 1,
                                            'xla_cpu_experimental_ynn_fusion_type': ''}
  monkeypatch.setattr(jax, 'default_backend', lambda: 'gpu')
  assert xla_options.compiler_options() is None


def test_the_cpu_program_has_no_library_fusions():
  # A ReLU and a sum over an activation of the reference CNN's first layer's shape.
  activation = jax.ShapeDtypeStruct((64, 26, 26, 32), jnp.float32)
  relu_sum = lambda x: jnp.sum(jax.nn.relu(x), axis=(1, 2))
  text = lambda options: jax.jit(relu_sum, compiler_options=options).lower(
      activation).compile().as_text()
  assert 'ynn_fusion' in text(None)  # What this jaxlib does by default...
  assert 'ynn_fusion' not in text(xla_options.compiler_options())  # ...and does not here.


def test_an_option_the_jaxlib_does_not_know_is_left_out_with_a_warning(monkeypatch, caplog):
  monkeypatch.setattr(xla_options, 'CPU_OPTIONS', {'xla_backend_optimization_level': 1,
                                                   'xla_cpu_option_from_elsewhere': True})
  with caplog.at_level('WARNING'):
    assert xla_options.compiler_options() == {'xla_backend_optimization_level': 1}
  assert 'xla_cpu_option_from_elsewhere' in caplog.text
  # Programs still compile and run with what is left.
  assert float(xla_options.jit(lambda x: x * 2)(jnp.float32(3))) == 6.0


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
