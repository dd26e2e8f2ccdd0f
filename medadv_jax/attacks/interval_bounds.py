"""Interval bound propagation (IBP): which images no attack can fool at a radius.

Gowal et al. 2018: push the box [x - eps, x + eps] (clipped to [0, 1]) through
the network layer by layer, keeping for every activation an interval that is
guaranteed to contain it. If the true class's lowest possible logit exceeds
every other class's highest, no point of the ball is misclassified, so every
attack, however strong, fails there: such an image is robust at that radius
for certain, and an attack schedule may skip it without changing a verdict.

The bounds come from the model's own jaxpr, so any Flax model built from the
supported operations works without a hand-written bound function: affine maps
(convolutions, dense layers, eval-mode BatchNorm, means), elementwise monotone
maps (ReLU, max-pooling) and shape changes. A model using anything else gets
`UnsupportedModel`, and callers fall back to attacking every image.
"""

import jax
import jax.numpy as jnp
from jax import lax
from jax.extend import core

# A float32 forward pass rounds, and so do the bounds: a margin this small is
# not trusted (relative to the largest logit bound).
_RELATIVE_SLACK = 1e-4


class UnsupportedModel(Exception):
  """The model uses an operation the interval rules do not cover."""


class Box:
  """An interval [lo, hi] holding every value the activation can take."""

  def __init__(self, lo, hi):
    self.lo, self.hi = lo, hi

  @property
  def centre(self):
    return (self.lo + self.hi) / 2

  @property
  def radius(self):
    return (self.hi - self.lo) / 2


def logit_bounds(logits_fn, x: jnp.ndarray, eps) -> tuple[jnp.ndarray, jnp.ndarray]:
  """Lower and upper bounds of `logits_fn` over the L-inf ball of radius `eps`
  around each image of x (N, H, W, C) in [0, 1], intersected with [0, 1]; (N, K) each.

  `eps` is a scalar or (N,). Raises UnsupportedModel (at trace time) for
  operations without an interval rule.
  """
  closed = jax.make_jaxpr(logits_fn)(x)
  (out,) = propagate(closed.jaxpr, closed.consts, [input_box(x, eps)])
  if not isinstance(out, Box):
    return out, out
  return out.lo, out.hi


def certified(logits_fn, x: jnp.ndarray, y: jnp.ndarray, eps) -> jnp.ndarray:
  """Whether no point of the eps-ball can be misclassified, bool (N,).

  Single-label y (N,): the true logit's lower bound beats every other logit's
  upper bound. Multi-label y (N, L): every sigmoid logit stays on its label's
  side of 0. Never True for an image misclassified at its centre.
  """
  lo, hi = logit_bounds(logits_fn, x, eps)
  return certified_from_bounds(lo, hi, y)


def certified_from_bounds(lo: jnp.ndarray, hi: jnp.ndarray, y: jnp.ndarray) -> jnp.ndarray:
  """`certified` from logit bounds lo, hi (N, K)."""
  slack = rounding_slack(lo, hi)
  if y.ndim == 2:
    worst = jnp.where(y > 0, lo, -hi)  # Signed logit, smallest over the box.
    return jnp.all(worst > slack[:, None], axis=-1)
  true_lo = jnp.take_along_axis(lo, y[:, None], axis=-1)[:, 0]
  others_hi = jnp.max(jnp.where(jnp.arange(hi.shape[-1]) == y[:, None], -jnp.inf, hi), -1)
  return true_lo - others_hi > slack


def rounding_slack(lo: jnp.ndarray, hi: jnp.ndarray) -> jnp.ndarray:
  """(N,) smallest margin trusted as positive, given logit bounds lo, hi (N, K)."""
  return _RELATIVE_SLACK * jnp.maximum(jnp.max(jnp.abs(lo), -1), jnp.max(jnp.abs(hi), -1))


# Shape and layout changes, applied to both ends of the interval.
_STRUCTURAL = {'reshape', 'broadcast_in_dim', 'transpose', 'squeeze', 'expand_dims',
               'convert_element_type', 'slice', 'dynamic_slice', 'rev', 'copy', 'copy_p',
               'reduce_precision'}
# Non-decreasing in every interval operand: applied to the lower and upper ends.
_MONOTONE = {'max', 'min', 'reduce_max', 'reduce_min', 'reduce_window_max', 'exp', 'log',
             'tanh', 'logistic', 'reduce_sum', 'cumsum', 'concatenate', 'add', 'sqrt',
             'log1p', 'expm1', 'erf', 'reduce_window_sum'}
# Bilinear: linear in the interval operand when the other is a constant.
_BILINEAR = {'conv_general_dilated', 'dot_general', 'mul'}
# Returns its operands unchanged (it only stops XLA from rewriting across it;
# see fast_conv_gradient).
IDENTITY = 'optimization_barrier'
CALLS = {'pjit', 'jit', 'closed_call', 'core_call', 'custom_jvp_call', 'custom_vjp_call',
         'custom_vjp_call_jaxpr', 'remat', 'checkpoint'}


def input_box(x: jnp.ndarray, eps) -> Box:
  """The L-inf ball of radius `eps` (scalar or (N,)) around each image of x,
  intersected with [0, 1]."""
  eps = jnp.reshape(jnp.asarray(eps, x.dtype), (-1,) + (1,) * (x.ndim - 1))
  return Box(jnp.clip(x - eps, 0.0, 1.0), jnp.clip(x + eps, 0.0, 1.0))


def propagate(jaxpr, consts, args, trace=None):
  """Runs `jaxpr` on `args`, some of them Boxes: the outputs, Boxes where they
  depend on one. With a dict `trace`, records every variable's value or Box in
  trace['env'] and each call's own trace under its equation's index (what
  `linear_bounds` walks back through)."""
  env = {}

  def read(var):
    return var.val if isinstance(var, core.Literal) else env[var]

  for var, value in zip(jaxpr.constvars, consts):
    env[var] = value
  for var, value in zip(jaxpr.invars, args):
    env[var] = value
  for index, eqn in enumerate(jaxpr.eqns):
    inputs = [read(v) for v in eqn.invars]
    if not any(isinstance(v, Box) for v in inputs):
      outputs = eqn.primitive.bind(*inputs, **eqn.params)
    elif eqn.primitive.name == IDENTITY:  # Its operands, unchanged.
      outputs = inputs
    elif eqn.primitive.name in CALLS:
      inner = inner_program(eqn)
      inner_trace = None if trace is None else {}
      outputs = propagate(inner.jaxpr, inner.consts, inputs, inner_trace)
      if trace is not None:
        trace[index] = inner_trace
    else:
      outputs = _box_rule(eqn, inputs)
    if not eqn.primitive.multiple_results:
      outputs = [outputs]
    for var, value in zip(eqn.outvars, outputs):
      env[var] = value
  if trace is not None:
    trace['env'] = env
  return [read(v) for v in jaxpr.outvars]


def inner_program(eqn) -> core.ClosedJaxpr:
  """The program a call equation (jit, custom_jvp_call, ...) runs."""
  params = eqn.params
  inner = params.get('jaxpr') or params.get('call_jaxpr') or params.get('fun_jaxpr')
  if inner is None:
    raise UnsupportedModel(f'no inner program in {eqn.primitive.name}')
  return inner if hasattr(inner, 'consts') else core.ClosedJaxpr(inner, ())


def _box_rule(eqn, inputs):
  name, params = eqn.primitive.name, eqn.params
  bind = lambda *args: eqn.primitive.bind(*args, **params)
  if name in _STRUCTURAL or name in _MONOTONE:
    if name == 'concatenate' or name in ('add', 'max', 'min'):
      los = [v.lo if isinstance(v, Box) else v for v in inputs]
      his = [v.hi if isinstance(v, Box) else v for v in inputs]
      return Box(bind(*los), bind(*his))
    if len(inputs) == 1:
      (box,) = inputs
      return Box(bind(box.lo), bind(box.hi))
  if name == 'sub':
    a, b = inputs
    a_lo, a_hi = (a.lo, a.hi) if isinstance(a, Box) else (a, a)
    b_lo, b_hi = (b.lo, b.hi) if isinstance(b, Box) else (b, b)
    return Box(a_lo - b_hi, a_hi - b_lo)
  if name == 'neg':
    (box,) = inputs
    return Box(-box.hi, -box.lo)
  if name == 'div' and not isinstance(inputs[1], Box):
    box, d = inputs
    lo, hi = box.lo / d, box.hi / d
    return Box(jnp.minimum(lo, hi), jnp.maximum(lo, hi))
  if name in _BILINEAR:
    boxes = [isinstance(v, Box) for v in inputs]
    if sum(boxes) != 1:
      raise UnsupportedModel(f'{name} of two bounded operands')
    # Centre-radius form: W c +- |W| r is the tightest box of an affine image.
    centre_args = [v.centre if isinstance(v, Box) else v for v in inputs]
    radius_args = [v.radius if isinstance(v, Box) else jnp.abs(v) for v in inputs]
    centre, radius = bind(*centre_args), bind(*radius_args)
    return Box(centre - radius, centre + radius)
  if name == 'select_n' and not isinstance(inputs[0], Box):
    which, *cases = inputs
    los = [c.lo if isinstance(c, Box) else c for c in cases]
    his = [c.hi if isinstance(c, Box) else c for c in cases]
    return Box(lax.select_n(which, *los), lax.select_n(which, *his))
  if name == 'pad' and not isinstance(inputs[1], Box):
    box, value = inputs
    return Box(bind(box.lo, value), bind(box.hi, value))
  raise UnsupportedModel(f'no interval rule for {name}')
