"""Shared views of the results rows used by the figure and the report."""

import collections

import numpy as np


def size_label(row) -> str:
  """Human name of a model size, e.g. 'cnn w=0.5' or 'resnet d=20 w=1'."""
  depth = '' if row.get('depth') is None else f' d={row["depth"]}'
  return f'{row["model"]}{depth} w={row["width"]:g}'


def size_key(row):
  return (row['model'], row.get('depth') or 0, row['width'])


def attack_label(row) -> str:
  name = row['attack'].upper() + (f'-{row["steps"]}' if row['attack'] == 'pgd' else '')
  return f'{name}, {row["target"].replace("_", "-")}'


def curves(rows):
  """{(attack label, train mode): {size label: (eps_255, mean, low, high)}}.

  Over several seeds the band is mean +- std across seeds; for one seed it is the
  95 % Wilson interval.
  """
  grouped = collections.defaultdict(lambda: collections.defaultdict(list))
  order = {}
  for row in rows:
    grouped[(attack_label(row), row['train_mode'])][size_label(row)].append(row)
    order[size_label(row)] = size_key(row)
  result = {}
  for panel, by_size in grouped.items():
    result[panel] = {}
    for label in sorted(by_size, key=order.get):
      by_eps = collections.defaultdict(list)
      for row in by_size[label]:
        by_eps[row['eps_255']].append(row)
      eps = np.array(sorted(by_eps))
      stats = [_band(by_eps[e]) for e in eps]
      result[panel][label] = (eps, *map(np.array, zip(*stats)))
  return result


def _band(rows):
  accuracies = np.array([r['accuracy'] for r in rows])
  mean = accuracies.mean()
  if len(rows) > 1:
    std = accuracies.std(ddof=1)
    return mean, mean - std, mean + std
  return mean, rows[0]['ci_low'], rows[0]['ci_high']
