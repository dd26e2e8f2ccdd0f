"""Means of per-step metrics that survive a checkpoint bit for bit."""

from typing import Mapping


class RunningMeans:
  """Float64 sums of per-step scalars, added one step at a time in step order.

  The sums are saved in the checkpoint's JSON (Python floats round-trip
  exactly), so a run resumed mid-epoch adds the remaining steps to the same
  partial sums in the same order and reaches identical means.
  """

  def __init__(self, sums: Mapping[str, float] = (), count: int = 0):
    self.sums = dict(sums)
    self.count = count

  def add(self, metrics: Mapping[str, float]) -> None:
    for name, value in metrics.items():
      self.sums[name] = self.sums.get(name, 0.0) + float(value)
    self.count += 1

  def means(self) -> dict:
    return {name: total / self.count for name, total in self.sums.items()}

  def to_json(self) -> dict:
    return {'sums': dict(self.sums), 'count': self.count}

  @classmethod
  def from_json(cls, data: Mapping) -> 'RunningMeans':
    return cls(data['sums'], data['count'])
