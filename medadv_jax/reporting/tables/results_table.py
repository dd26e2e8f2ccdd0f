"""results.csv and results.json: one row per cell x attack x target x eps."""

import csv
import json
import pathlib

from medadv_jax import atomic_files

# Leading columns in a fixed order; any further keys follow alphabetically.
COLUMNS = ('dataset', 'model', 'width', 'depth', 'params', 'flops', 'train_mode', 'seed',
           'attack', 'target', 'steps', 'eps', 'eps_255', 'accuracy', 'n', 'ci_low',
           'ci_high', 'accuracy_single_eps', 'clean_test_accuracy', 'balanced_accuracy',
           'auc', 'fit', 'fitness_reasons', 'epochs_run', 'stop_reason', 'best_epoch',
           'val_score')


def ordered_columns(rows) -> list[str]:
  extra = sorted({key for row in rows for key in row} - set(COLUMNS))
  return list(COLUMNS) + extra


def write_csv(rows, path: pathlib.Path) -> None:
  with atomic_files.atomic_path(path) as tmp, open(tmp, 'w', newline='') as f:
    writer = csv.DictWriter(f, fieldnames=ordered_columns(rows))
    writer.writeheader()
    writer.writerows(rows)


def write_json(rows, path: pathlib.Path) -> None:
  atomic_files.write_text(path, json.dumps(rows, indent=1))


def read_csv(path: pathlib.Path) -> list[dict]:
  with open(path, newline='') as f:
    return list(csv.DictReader(f))
