"""Tiny data, model and config shared by the training, checkpointing and metrics tests."""

import importlib.util
import json
import os
import pathlib
import struct
import subprocess
import sys

import jax
import numpy as np
from tensorboardX.proto import event_pb2

from medadv_jax.data.dataset import Dataset
from medadv_jax.models.cnn import WidthCNN
from medadv_jax.training import metrics_writer

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
MODEL = WidthCNN(num_classes=2, width=0.25)


def default_config(arg: str = ''):
  spec = importlib.util.spec_from_file_location('default_config',
                                                REPO_ROOT / 'configs' / 'default.py')
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg)


def synthetic_dataset(seed: int = 0, n: int = 96, poison_from: int = -1) -> Dataset:
  """8x8 grey images where class 1 is brighter: learnable in a few steps.

  `poison_from >= 0` sets training images from that index on to NaN.
  """
  rng = np.random.default_rng(seed)
  labels = (np.arange(n) % 2).astype(np.int32)
  images = (rng.uniform(0, 0.6, (n, 8, 8, 1)) + 0.3 * labels[:, None, None, None])
  images = images.astype(np.float32)
  train_images = images.copy()
  if poison_from >= 0:
    train_images[poison_from:] = np.nan
  return Dataset('synthetic', 'binary', ('a', 'b'), train_images, labels, images[:32],
                 labels[:32], images[:32], labels[:32])


def train_config(epochs: int, **overrides):
  """The shipped config.train with tiny sizes; `overrides` use dotted names as keys
  with '__' for '.', e.g. adv__steps=3."""
  config = default_config().train
  config.min_steps = 0  # A fixed number of epochs.
  config.epochs = epochs
  config.batch_size = 16
  config.learning_rate = 3e-3
  config.eval_batch_size = 64
  config.log_every_steps = 2
  config.checkpoint_min_steps = 0  # Every epoch end, as the tests count checkpoints.
  config.adv.eps_255 = 4.0
  config.adv.steps = 2
  config.adv.step_size_frac = 0.5
  for name, value in overrides.items():
    *path, leaf = name.split('__')
    parent = config
    for part in path:
      parent = parent[part]
    parent[leaf] = value
  return config


def leaves(tree) -> list[np.ndarray]:
  return [np.asarray(x) for x in jax.tree_util.tree_leaves(tree)]


def assert_trees_equal(a, b) -> None:
  for x, y in zip(leaves(a), leaves(b), strict=True):
    np.testing.assert_array_equal(x, y)


def without_timing(rows):
  """Metric rows or history entries minus wall-clock fields (which legitimately vary)."""
  timing = ('seconds', 'images_per_second')
  return [{k: v for k, v in row.items() if not k.startswith('perf/') and k not in timing}
          for row in rows]


def read_events(directory):
  """Every Event of every TensorBoard file in `directory`, file by file (TFRecord framing:
  u64 length, u32 crc, payload, u32 crc)."""
  files = []
  for path in sorted((directory / metrics_writer.TENSORBOARD_DIR).iterdir()):
    data, pos, events = path.read_bytes(), 0, []
    while pos < len(data):
      (length,) = struct.unpack('<Q', data[pos:pos + 8])
      event = event_pb2.Event()
      event.ParseFromString(data[pos + 12:pos + 12 + length])
      events.append(event)
      pos += 12 + length + 4
    files.append(events)
  return files


def run_on_devices(child: str, n_devices: int, tmp_path) -> dict:
  """Runs the script `child` (argv[1]: `tmp_path`) on `n_devices` virtual CPU
  devices (XLA reads the count when its backend starts, hence a child process)
  and returns the JSON it printed after 'RESULT'."""
  env = dict(os.environ, XLA_FLAGS=f'--xla_force_host_platform_device_count={n_devices}')
  result = subprocess.run([sys.executable, '-c', child, str(tmp_path)], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  return json.loads(result.stdout.split('RESULT')[-1])
