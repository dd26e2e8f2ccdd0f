"""XLA compiler options for the programs that dominate a study's time, per backend.

On a CPU, XLA's backend optimisation level 1 compiles faster than the default
level and, for these programs (attacks and adversarial training), also runs
faster. XLA's CPU backend also hands element-wise operations, reductions and
convolutions to the YNNPACK library by default; for these programs that is
slower, so those library fusions are off
('xla_cpu_experimental_ynn_fusion_type' empty). Measurements:
benchmarks/README.md.

GPUs and TPUs keep XLA's defaults. Numbers are deterministic for given
options, but they are not bit-identical across option sets.
"""

import functools

import jax
from absl import logging

CPU_OPTIONS = {'xla_backend_optimization_level': 1,
               'xla_cpu_experimental_ynn_fusion_type': ''}


def compiler_options():
  """Options for jax.jit on the default backend: those of CPU_OPTIONS this jaxlib
  knows on a CPU, else None."""
  if jax.default_backend() != 'cpu':
    return None
  return dict(_known_to_jaxlib(tuple(CPU_OPTIONS.items())))


@functools.cache
def _known_to_jaxlib(options: tuple) -> tuple:
  """The (name, value) pairs of `options` this jaxlib compiles with. An
  experimental option may be renamed or dropped by another jaxlib than the
  pinned one; a program must then still compile, only without it."""
  known = []
  for name, value in options:
    try:
      jax.jit(lambda x: x, compiler_options={name: value}).lower(0.0).compile()
      known.append((name, value))
    except jax.errors.JaxRuntimeError as error:
      logging.warning('XLA option %s=%r left out: this jaxlib does not take it (%s)',
                      name, value, error)
  return tuple(known)


class _JitOnFirstCall:
  """jax.jit of `fun` with `compiler_options()`, built at the first call: the
  backend must not be chosen at import time, before `jax.distributed` has
  been set up."""

  def __init__(self, fun, jit_kwargs):
    self._fun, self._jit_kwargs, self._jitted = fun, jit_kwargs, None

  def __call__(self, *args, **kwargs):
    if self._jitted is None:
      self._jitted = jax.jit(self._fun, compiler_options=compiler_options(),
                             **self._jit_kwargs)
    return self._jitted(*args, **kwargs)


def jit(fun=None, **jit_kwargs):
  """Like `jax.jit` (also as `@jit(static_argnums=...)`), with the backend's
  `compiler_options()`."""
  if fun is None:
    return lambda f: _JitOnFirstCall(f, jit_kwargs)
  return _JitOnFirstCall(fun, jit_kwargs)
