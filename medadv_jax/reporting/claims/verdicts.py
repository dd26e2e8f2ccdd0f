"""The verdict words and the rules that give them, from a plan's tests."""

AGREES, DISAGREES, EQUIVALENT, INCONCLUSIVE = 'agrees', 'disagrees', 'equivalent', 'inconclusive'
NO_VERDICT = 'no verdict'
# A two-sided contrast's words (no side is claimed, e.g. the slope at 64 px minus at 28 px).
DIFFERS, NO_DIFFERENCE = 'differs', 'no difference shown'
# Added to a side of 0 whose effect TOST also finds inside the margin: real but small.
INSIDE_MARGIN = ' (inside the margin)'


def too_few_seeds(seeds: int, minimum: int) -> str | None:
  """'no verdict: 3 seeds, the plan needs 5' below the plan's minimum (and 2)."""
  need = max(2, minimum)
  if seeds < need:
    return f'{NO_VERDICT}: {seeds} seed{"s" * (seeds != 1)}, the plan needs {need}'
  return None


def by_interval(low: float, high: float, equivalent: bool, claimed_sign: int) -> str:
  """The 95 % interval's side of 0 first (marked when TOST also finds the effect
  inside the margin); else equivalence by TOST; else inconclusive."""
  if high < 0 or low > 0:
    side = AGREES if (1 if low > 0 else -1) == claimed_sign else DISAGREES
    return side + (INSIDE_MARGIN if equivalent else '')
  return EQUIVALENT if equivalent else INCONCLUSIVE


def by_test(mean: float, significant: bool, equivalent: bool, claimed_sign: int) -> str:
  """A Holm-adjusted test's rejection on the side of the mean (marked when TOST
  also finds it inside the margin); else TOST; else inconclusive."""
  if significant:
    side = AGREES if (1 if mean > 0 else -1) == claimed_sign else DISAGREES
    return side + (INSIDE_MARGIN if equivalent else '')
  return EQUIVALENT if equivalent else INCONCLUSIVE


def by_difference(significant: bool, equivalent: bool) -> str:
  """A contrast with no claimed side: differs when its Holm-adjusted test rejects 0
  (marked when TOST also finds it inside the margin); else TOST; else none shown."""
  if significant:
    return DIFFERS + (INSIDE_MARGIN if equivalent else '')
  return EQUIVALENT if equivalent else NO_DIFFERENCE


def every_size(verdicts: list[str]) -> str:
  """Claim (b) holds for every size: agrees if all agree, disagrees if any
  disagrees, equivalent if all are, else inconclusive."""
  verdicts = [v.removesuffix(INSIDE_MARGIN) for v in verdicts]
  if not verdicts:
    return INCONCLUSIVE
  if all(v == AGREES for v in verdicts):
    return AGREES
  if DISAGREES in verdicts:
    return DISAGREES
  if all(v == EQUIVALENT for v in verdicts):
    return EQUIVALENT
  return INCONCLUSIVE
