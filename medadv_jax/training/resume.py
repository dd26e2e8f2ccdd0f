"""Finds the newest checkpoint step that restores, setting damaged ones aside.

A step can be damaged after it was written whole: files overwritten, its JSON
cut short, its arrays deleted, or a kill during orbax's removal of an old step.
Such a step is moved aside (never deleted) with one log line, and the run
resumes from the step before it, or from scratch if none is left; resuming from
any step gives the numbers of an uninterrupted run.
"""

from typing import Any, Callable, Optional

from absl import logging

from medadv_jax.errors import MedAdvError


def restore_newest_good(checkpointer, arrays_template: Any, check_meta: Callable[[dict], None],
                        run_name: str, parse: Callable[[dict], Any] = lambda meta: meta
                        ) -> Optional[tuple[Any, Any]]:
  """(arrays, parse(meta)) of the newest step of `checkpointer` that restores, or None.

  `check_meta(meta)` may raise a MedAdvError for a whole step that this run cannot
  continue (other settings): that is not damage, so it propagates and nothing
  is set aside. Any other failure to read a step sets it aside.
  """
  for step in reversed(checkpointer.all_steps()):
    try:
      check_meta(checkpointer.restore_meta(step))
      arrays, meta = checkpointer.restore(step, arrays_template)
      if not isinstance(meta, dict) or 'running' not in meta:
        raise ValueError('its meta document lacks the running metric sums')
      return arrays, parse(meta)
    except MedAdvError:
      raise
    except Exception as e:  # pylint: disable=broad-except
      # TensorStore, JSON and orbax each fail differently on a damaged step;
      # what could pass (memory, permissions, an I/O error) stops the run instead.
      if not _is_damage(e):
        raise
      where = checkpointer.set_aside(step)
      logging.warning('%s: checkpoint step %d does not restore (%s: %s); moved it to %s and '
                      'resuming from %s', run_name, step, type(e).__name__,
                      str(e).splitlines()[0][:200] if str(e) else '', where,
                      'the step before it' if checkpointer.all_steps() else 'scratch')
  return None


# Errors that say nothing about the step's files: the step may be good.
_NOT_DAMAGE_CODES = ('RESOURCE_EXHAUSTED', 'PERMISSION_DENIED', 'UNAVAILABLE',
                     'DEADLINE_EXCEEDED', 'ABORTED', 'CANCELLED')


def _is_damage(error: Exception) -> bool:
  """Whether a failure to restore a step comes from its files (cut short,
  overwritten, missing), not from this machine (memory, permissions, I/O)."""
  if isinstance(error, (MemoryError, PermissionError)):
    return False
  if isinstance(error, OSError) and not isinstance(error, FileNotFoundError):
    return False
  return not any(code in str(error) for code in _NOT_DAMAGE_CODES)
