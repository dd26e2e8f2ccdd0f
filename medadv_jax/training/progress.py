"""A progress line with rate and ETA for long loops, logged at a bounded rate."""

import time
from typing import Callable

from absl import logging


def format_duration(seconds: float) -> str:
  """'1h02m', '3m05s' or '42s'."""
  seconds = int(round(max(0.0, seconds)))
  hours, rest = divmod(seconds, 3600)
  minutes, secs = divmod(rest, 60)
  if hours:
    return f'{hours}h{minutes:02d}m'
  if minutes:
    return f'{minutes}m{secs:02d}s'
  return f'{secs}s'


class Progress:
  """Logs `name: done/total unit (pct), rate item/s, ETA` at most every `interval_s`.

  The rate counts only the work done since this object was made (a resumed
  run's earlier steps do not inflate it): `items_per_unit` items (e.g. images
  per step) per unit of `done`.
  """

  def __init__(self, name: str, total: int, done: int = 0, *, unit: str = 'steps',
               items_per_unit: float = 1.0, item: str = 'img', interval_s: float = 30.0,
               clock: Callable[[], float] = time.monotonic,
               log: Callable[[str], None] = logging.info):
    self._name, self._total, self._unit = name, total, unit
    self._items_per_unit, self._item = items_per_unit, item
    self._interval_s, self._clock, self._log = interval_s, clock, log
    self._start_done = self._done = done
    self._start_time = self._last_log = clock()

  def rate(self) -> float:
    """Items per second since construction (0 before any work)."""
    elapsed = self._clock() - self._start_time
    work = (self._done - self._start_done) * self._items_per_unit
    return work / elapsed if elapsed > 0 else 0.0

  def eta_seconds(self) -> float:
    elapsed = self._clock() - self._start_time
    work = self._done - self._start_done
    return (self._total - self._done) * elapsed / work if work else float('inf')

  def line(self, extra: str = '') -> str:
    eta = self.eta_seconds()
    eta_text = format_duration(eta) if eta != float('inf') else '?'
    percent = 100.0 * self._done / self._total if self._total else 100.0
    line = (f'{self._name}: {self._done}/{self._total} {self._unit} ({percent:.0f}%), '
            f'{self.rate():.1f} {self._item}/s, ETA {eta_text}')
    return f'{line} | {extra}' if extra else line

  def update(self, done: int, extra: str = '', force: bool = False) -> None:
    """Records progress `done` (absolute) and logs if `interval_s` has passed."""
    self._done = done
    now = self._clock()
    if force or now - self._last_log >= self._interval_s:
      self._last_log = now
      self._log(self.line(extra))
