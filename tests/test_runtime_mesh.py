"""Data parallelism: an epoch on 4 (virtual CPU) devices equals one on 1 device."""

import numpy as np

from training_helpers import REPO_ROOT, run_on_devices

# XLA reads the device count when the backend starts, so the comparison runs
# in a child process started with the flag.
CHILD = f'''
import json, pathlib, sys
sys.path.insert(0, {str(REPO_ROOT / 'tests')!r})
import jax
import numpy as np
from medadv_jax.runtime import devices
from medadv_jax.training import loop
from training_helpers import MODEL, leaves, synthetic_dataset, train_config

assert jax.device_count() == 4, jax.devices()
make_train_step = loop.steps.make_train_step
shards_seen = set()

def make_recording_step(*args, **kwargs):
  step = make_train_step(*args, **kwargs)
  def recording_step(state, images, labels, key):
    shards_seen.add(len(images.addressable_shards))
    return step(state, images, labels, key)
  return recording_step

loop.steps.make_train_step = make_recording_step
out = {{}}
for n in (4, 1):
  shards_seen.clear()
  run_dir = pathlib.Path(sys.argv[1]) / f'devices{{n}}'
  variables, meta = loop.train_model(
      MODEL, synthetic_dataset(), train_config(1, robust_val_standard=True), 'standard', 0,
      run_dir, mesh=devices.data_mesh(jax.devices()[:n]))
  out[n] = {{'leaves': [x.tolist() for x in leaves(variables)],
             'history': meta.history, 'shards': sorted(shards_seen)}}
print('RESULT' + json.dumps(out))
'''


def test_one_epoch_on_four_devices_matches_one_device(tmp_path):
  out = run_on_devices(CHILD, 4, tmp_path)
  four, one = out['4'], out['1']
  assert len(four['leaves']) == len(one['leaves']) > 0
  for a, b in zip(four['leaves'], one['leaves']):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5)
  for key in ('loss', 'grad_norm', 'val_accuracy', 'val_loss', 'val_robust_accuracy'):
    np.testing.assert_allclose(four['history'][0][key], one['history'][0][key], rtol=1e-4,
                               atol=1e-6)
  assert four['shards'] == [4] and one['shards'] == [1]  # Every batch was split n ways.
