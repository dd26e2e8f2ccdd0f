"""Linear bound propagation (CROWN-IBP): certificates at radii intervals miss.

Interval bounds (`interval_bounds`) lose the correlations between neurons, so
on a normally trained network they prove robustness only at tiny radii. CROWN
(Zhang et al. 2018) bounds the margin logit_y - logit_j from below by a linear
function of the input, walking the network backwards from the logits like a
gradient: affine maps pass the coefficients through their transpose (a VJP),
and each ReLU or max is replaced by the linear bound that holds over its input
interval (the chord above, a line through the origin below). The intervals of
those inputs come from interval propagation (CROWN-IBP, Zhang et al. 2020),
so the whole bound costs one interval pass and one backward pass per class,
far less than a PGD-20 attack. The linear bound's minimum over the input box
is then exact.

Like `interval_bounds`, it reads the model's own jaxpr: affine operations,
ReLU-style `max` with a constant, max-pooling (`reduce_max`, or
non-overlapping `reduce_window_max`) and calls. Anything else raises
`UnsupportedModel`, and `certified` then uses the intervals alone.
"""

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend import core

from medadv_jax.attacks import interval_bounds
from medadv_jax.attacks.interval_bounds import Box, UnsupportedModel
from medadv_jax.ops import fast_conv_gradient

# Affine in their bounded operands whatever they are (shape changes, sums).
_AFFINE = {'reshape', 'broadcast_in_dim', 'transpose', 'squeeze', 'expand_dims',
           'convert_element_type', 'slice', 'dynamic_slice', 'rev', 'copy', 'copy_p',
           'reduce_precision', 'add', 'sub', 'neg', 'reduce_sum', 'cumsum', 'concatenate',
           'pad', 'select_n', 'reduce_window_sum'}
# Affine when exactly one operand (in the allowed positions) is bounded.
_BILINEAR = {'conv_general_dilated': (0, 1), 'dot_general': (0, 1), 'mul': (0, 1),
             'div': (0,)}


def certified(logits_fn, x: jnp.ndarray, y: jnp.ndarray, eps) -> jnp.ndarray:
  """Whether no point of the eps-ball (L-inf, within [0, 1]) can be
  misclassified, bool (N,): proven by linear bounds or by intervals.

  y: int (N,) labels (the true logit beats every other), or 0/1 (N, L)
  multi-label targets (every sigmoid logit on its label's side of 0).
  """
  jaxpr, trace, box, out = _intervals(logits_fn, x, eps)
  by_intervals = interval_bounds.certified_from_bounds(out.lo, out.hi, y)
  try:
    margins = _lower_bounds(jaxpr, trace, box, margin_specs(y, out.lo.shape[-1]))
  except UnsupportedModel:
    return by_intervals
  slack = interval_bounds.rounding_slack(out.lo, out.hi)
  return by_intervals | jnp.all(margins > slack[:, None], axis=-1)


def margin_lower_bounds(logits_fn, x: jnp.ndarray, specs: jnp.ndarray, eps) -> jnp.ndarray:
  """Lower bounds (N, S) of specs[n, s] . logits(x') over x' in the eps-ball
  around x[n]; specs (N, S, K). Raises UnsupportedModel."""
  jaxpr, trace, box, _ = _intervals(logits_fn, x, eps)
  return _lower_bounds(jaxpr, trace, box, specs)


def _intervals(logits_fn, x: jnp.ndarray, eps):
  """Interval propagation over the eps-ball, recorded for the backward pass:
  (jaxpr, its trace, the input box, the logits' Box)."""
  closed = jax.make_jaxpr(logits_fn)(x)
  box = interval_bounds.input_box(x, eps)
  trace = {}
  (out,) = interval_bounds.propagate(closed.jaxpr, closed.consts, [box], trace)
  return closed.jaxpr, trace, box, out if isinstance(out, Box) else Box(out, out)


def margin_specs(y: jnp.ndarray, num_logits: int) -> jnp.ndarray:
  """Specs (N, S, K), all of whose rows are positive iff the example is
  classified right: logit_y - logit_j for each other class j (S = K - 1), or
  sign(label_l) * logit_l for each label of a multi-label y (N, L) (S = L)."""
  if y.ndim == 2:
    sign = jnp.where(y > 0, 1.0, -1.0)
    return sign[:, :, None] * jnp.eye(num_logits)
  others = (y[:, None] + 1 + jnp.arange(num_logits - 1)) % num_logits
  return jax.nn.one_hot(y, num_logits)[:, None, :] - jax.nn.one_hot(others, num_logits)


def _lower_bounds(jaxpr, trace, box: Box, specs: jnp.ndarray) -> jnp.ndarray:
  """(N, S): the linear bound of each spec, minimised over the input box."""

  def one_spec(spec):  # (N, K) -> (N,)
    (input_coeffs,), bias = _backward(jaxpr, trace, [spec[None]])
    if input_coeffs is None:  # The logits do not depend on the input.
      return bias[0]
    axes = tuple(range(2, input_coeffs.ndim))
    lowest = (jnp.sum(jnp.maximum(input_coeffs, 0) * box.lo, axes)
              + jnp.sum(jnp.minimum(input_coeffs, 0) * box.hi, axes))
    return (lowest + bias)[0]

  # One spec at a time: the coefficients are the size of every activation, so
  # memory stays that of one backward pass however many classes there are.
  return jax.lax.map(one_spec, jnp.swapaxes(specs, 0, 1)).T


def _backward(jaxpr, trace, out_coeffs):
  """Coefficients of jaxpr's inputs (None where unbounded) and the bias (S, N)
  of the linear lower bound sum(out_coeffs * outputs), walking back from the
  outputs. Coefficients are (S, *shape of the variable); axis 1 is the batch
  (S is 1 as `_lower_bounds` calls it; the rules work for any S)."""
  env = trace['env']
  coeffs = {}
  bias = 0.0

  def add_to(var, coeff):
    if coeff is not None and isinstance(var, core.Var):
      coeffs[var] = coeffs[var] + coeff if var in coeffs else coeff

  def value(var):
    return var.val if isinstance(var, core.Literal) else env[var]

  for var, coeff in zip(jaxpr.outvars, out_coeffs):
    if isinstance(var, core.Literal) and coeff is not None:
      bias = bias + _weighted_sum(coeff, jnp.broadcast_to(var.val, coeff.shape[1:]))
    add_to(var, coeff)
  for index in reversed(range(len(jaxpr.eqns))):
    eqn = jaxpr.eqns[index]
    outs = [coeffs.pop(var, None) for var in eqn.outvars]
    if all(c is None for c in outs):
      continue
    inputs = [value(var) for var in eqn.invars]
    name = eqn.primitive.name
    if not any(isinstance(v, Box) for v in inputs):  # A constant: it joins the bias.
      for var, coeff in zip(eqn.outvars, outs):
        if coeff is not None:
          bias = bias + _weighted_sum(coeff, env[var])
      continue
    if name == interval_bounds.IDENTITY:
      in_coeffs, inner_bias = outs, 0.0
    elif name in interval_bounds.CALLS:
      in_coeffs, inner_bias = _backward(interval_bounds.inner_program(eqn).jaxpr,
                                        trace[index], outs)
    elif len(outs) != 1:
      raise UnsupportedModel(f'no linear rule for {name} with several outputs')
    elif name == 'max':
      in_coeffs, inner_bias = _relu_like(inputs, outs[0])
    elif name == 'reduce_max':
      in_coeffs, inner_bias = _max_over(inputs[0], outs[0], eqn.params['axes'])
    elif name == 'reduce_window_max':
      in_coeffs, inner_bias = _window_max(inputs[0], outs[0], eqn.params)
    else:
      in_coeffs, inner_bias = _affine(eqn, inputs, outs[0])
    bias = bias + inner_bias
    for var, coeff in zip(eqn.invars, in_coeffs):
      add_to(var, coeff)
  return [coeffs.get(var) for var in jaxpr.invars], bias


def _weighted_sum(coeff, values):
  """sum over all but the spec and batch axes of coeff * values: (S, N)."""
  return jnp.sum(coeff * values, axis=tuple(range(2, coeff.ndim)))


def _affine(eqn, inputs, out_coeff):
  """f(bounded operands) = L(bounded) + f(0): coefficients pass back through
  L's transpose (a VJP, exact since f is affine), f(0) joins the bias."""
  name = eqn.primitive.name
  bounded = [k for k, v in enumerate(inputs) if isinstance(v, Box)]
  if name in _BILINEAR:
    if len(bounded) != 1 or bounded[0] not in _BILINEAR[name]:
      raise UnsupportedModel(f'{name} is not affine in its bounded operands')
  elif name not in _AFFINE or (name == 'select_n' and 0 in bounded):
    raise UnsupportedModel(f'no linear rule for {name}')

  params = dict(eqn.params)
  fixed = list(inputs)
  if name == 'conv_general_dilated' and bounded == [0] and fast_conv_gradient.applies():
    # The same convolution with its kernel's feature axes swapped, which XLA's
    # CPU backend transposes several times faster (see fast_conv_gradient).
    fixed[1], params['dimension_numbers'] = fast_conv_gradient.kernel_with_features_swapped(
        inputs[1], params['dimension_numbers'])

  def apply(*bounded_values):
    args = list(fixed)
    for k, v in zip(bounded, bounded_values):
      args[k] = v
    return eqn.primitive.bind(*args, **params)

  shapes = [jax.ShapeDtypeStruct(inputs[k].lo.shape, inputs[k].lo.dtype) for k in bounded]
  if name in _BILINEAR:
    # Linear: no offset. Transposing without evaluating at a constant point
    # also spares XLA from constant-folding a convolution of zeros.
    at_zero, transpose = None, jax.linear_transpose(apply, *shapes)
  else:  # Cheap ops: evaluating them at zero costs nothing worth avoiding.
    at_zero, transpose = jax.vjp(apply, *(jnp.zeros(s.shape, s.dtype) for s in shapes))
    if at_zero.shape[:1] != out_coeff.shape[1:2]:
      raise UnsupportedModel(f'{name} mixes examples (output {at_zero.shape})')
  in_coeffs = [None] * len(inputs)
  for k, coeff in zip(bounded, jax.vmap(transpose)(out_coeff)):
    in_coeffs[k] = coeff
  if name in _BILINEAR:
    return in_coeffs, 0.0
  return in_coeffs, _weighted_sum(out_coeff, jnp.broadcast_to(at_zero, out_coeff.shape))


def _relu_like(inputs, out_coeff):
  """max(v, c) with v bounded and c constant: c + relu(v - c), relaxed over
  v's interval [l, u]: above by the chord through (l, max(l, c)) and (u, max(u, c)),
  below by v when u - c >= c - l, else by c (CROWN's adaptive choice)."""
  if sum(isinstance(v, Box) for v in inputs) != 1:
    raise UnsupportedModel('max of two bounded operands')
  position = 0 if isinstance(inputs[0], Box) else 1
  box, c = inputs[position], inputs[1 - position]
  low, high = box.lo - c, box.hi - c  # Interval of z = v - c.
  active, dead = low >= 0, high <= 0
  chord = jnp.where(active | dead, 0.0, high / jnp.where(active | dead, 1.0, high - low))
  upper_slope = jnp.where(active, 1.0, chord)
  upper_bias = jnp.where(active, 0.0, c - chord * (c + low))
  lower_slope = jnp.where(active | (~dead & (high >= -low)), 1.0, 0.0)
  lower_bias = (1.0 - lower_slope) * c
  slope = jnp.where(out_coeff >= 0, lower_slope, upper_slope)
  offset = jnp.where(out_coeff >= 0, lower_bias, upper_bias)
  in_coeffs = [None, None]
  in_coeffs[position] = out_coeff * slope
  return in_coeffs, _weighted_sum(out_coeff, jnp.broadcast_to(offset, out_coeff.shape))


def _max_over(box: Box, out_coeff, axes):
  """max over `axes`: below by one element, the first with the highest lower
  bound; above by that element when its lower bound is at least every other's
  upper bound (the max is then exactly it), else by the largest upper bound
  (a constant).

  The element is chosen by index (argmax, then one-hot), never by comparing
  two computed floats for equality: a compiled program may compute a value
  twice with different rounding, and an equality test could then choose no
  element or a wrong one. The lower bound holds whichever element is chosen;
  the upper one is taken only where the chosen element's own lower bound, read
  through the same one-hot, beats every other upper bound.
  """
  expand = lambda t: jnp.expand_dims(t, tuple(a + 1 for a in axes))  # Skip the spec axis.
  chosen = _first_argmax(box.lo, axes)
  chosen_lo = jnp.sum(jnp.where(chosen, box.lo, 0.0), axis=axes, keepdims=True)
  others_high = jnp.max(jnp.where(chosen, -jnp.inf, box.hi), axis=axes, keepdims=True)
  exact = chosen_lo >= others_high
  use_element = (expand(out_coeff) >= 0) | exact[None]
  in_coeff = jnp.where(use_element & chosen[None], expand(out_coeff), 0.0)
  highest = jnp.max(box.hi, axis=axes)
  constant = jnp.where(out_coeff >= 0, 0.0, out_coeff * highest[None])
  constant = jnp.where(jnp.squeeze(exact, axes)[None], 0.0, constant)
  return [in_coeff], _weighted_sum(constant, 1.0)


def _first_argmax(values, axes):
  """bool, values' shape: True at exactly one position of each slice over
  `axes`, the first (row-major) holding the slice's largest value."""
  axes = tuple(sorted(axes))
  kept = [a for a in range(values.ndim) if a not in axes]
  moved = jnp.transpose(values, kept + list(axes))
  flat = moved.reshape(moved.shape[:len(kept)] + (-1,))
  one_hot = jax.nn.one_hot(jnp.argmax(flat, axis=-1), flat.shape[-1], dtype=jnp.bool_)
  return jnp.transpose(one_hot.reshape(moved.shape), tuple(np.argsort(kept + list(axes))))


def _window_max(box: Box, out_coeff, params):
  """reduce_window_max with windows that tile the input (stride = window, no
  padding or dilation: the 2x2 max-pool): a reshape into windows, then `_max_over`."""
  window, strides = params['window_dimensions'], params['window_strides']
  tiled = (tuple(window) == tuple(strides)
           and all(p == (0, 0) for p in params['padding'])
           and all(d == 1 for d in params['base_dilation'])
           and all(d == 1 for d in params['window_dilation']))
  if not tiled:
    raise UnsupportedModel('reduce_window_max with overlapping or padded windows')

  def to_windows(t):
    counts = [size // w for size, w in zip(t.shape, window)]
    t = t[tuple(slice(0, n * w) for n, w in zip(counts, window))]
    return t.reshape(tuple(d for n, w in zip(counts, window) for d in (n, w)))

  windows = Box(to_windows(box.lo), to_windows(box.hi))
  axes = tuple(range(1, 2 * len(window), 2))
  (window_coeff,), bias = _max_over(windows, out_coeff, axes)
  transpose = jax.linear_transpose(
      to_windows, jax.ShapeDtypeStruct(box.lo.shape, box.lo.dtype))
  (in_coeff,) = jax.vmap(transpose)(window_coeff)
  return [in_coeff], bias
