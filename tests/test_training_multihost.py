"""Multi-host: 2 processes x 2 CPU devices joined by jax.distributed equal 1 process x 4.

Three JAX processes on the loopback address; about 1.5 minutes on two cores.
"""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from training_helpers import REPO_ROOT

CHILD = f'''
import json, os, pathlib, sys
sys.path.insert(0, {str(REPO_ROOT / 'tests')!r})
import jax
if int(os.environ['JAX_NUM_PROCESSES']) > 1:
  jax.distributed.initialize(num_processes=int(os.environ['JAX_NUM_PROCESSES']),
                             process_id=int(os.environ['JAX_PROCESS_ID']))
from medadv_jax.training import loop
from training_helpers import MODEL, leaves, synthetic_dataset, train_config
assert jax.device_count() == 4
variables, meta = loop.train_model(MODEL, synthetic_dataset(),
                                   train_config(1, checkpoint_every_steps=4), 'pgd', 0,
                                   pathlib.Path(sys.argv[1]))
# The trained model attacked with its images split over every device of the
# run (runtime.devices), then on this process's first device alone.
import numpy as np
from medadv_jax.attacks import registry, schedules
from medadv_jax.models.eval_apply import EvalApply
from medadv_jax.runtime import devices
data = synthetic_dataset()
program, spread = schedules._correct_at_jit, set()
def recording(*args):
  out = program(*args)
  spread.add(len(out.sharding.device_set))
  return out
schedules._correct_at_jit = recording
attack = lambda: schedules.evaluate(
    'cascade', registry.AttackSpec('pgd', steps=3), EvalApply(MODEL), variables,
    data.test_images, data.test_labels, np.linspace(0, 0.3, 7).astype(np.float32),
    jax.random.key(0), 16).tolist()
spread_out = attack()
devices.count = lambda: 1
print('RESULT' + json.dumps({{'leaves': [x.tolist() for x in leaves(variables)],
                              'loss': meta.history[0]['loss'], 'spread': sorted(spread),
                              'verdicts': [spread_out, attack()]}}))
'''


def _start(run_dir, devices, process_id, num_processes, port):
  env = dict(os.environ, XLA_FLAGS=f'--xla_force_host_platform_device_count={devices}',
             JAX_COORDINATOR_ADDRESS=f'localhost:{port}', JAX_PROCESS_ID=str(process_id),
             JAX_NUM_PROCESSES=str(num_processes))
  return subprocess.Popen([sys.executable, '-c', CHILD, str(run_dir)], cwd=REPO_ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _result(process):
  out, err = process.communicate(timeout=600)
  assert process.returncode == 0, err[-3000:]
  return json.loads(out.split('RESULT')[-1])


def test_two_hosts_of_two_devices_train_like_one_host_of_four(tmp_path):
  with socket.socket() as s:
    s.bind(('localhost', 0))
    port = s.getsockname()[1]
  hosts = [_start(tmp_path / 'two_hosts', 2, i, 2, port) for i in range(2)]
  results = [_result(p) for p in hosts]
  single = _result(_start(tmp_path / 'one_host', 4, 0, 1, port))
  # Every process ends with the same weights and attacks them alike: the attack
  # programs span both processes' devices, with one device's verdicts.
  assert results[0] == results[1]
  assert single['spread'] == results[0]['spread'] == [4]
  for result in (results[0], single):
    spread_out, one_device = result['verdicts']
    assert spread_out == one_device
    robust = np.sum(spread_out, axis=1)
    assert robust[0] > robust[-1] > 0, robust
  for a, b in zip(results[0]['leaves'], single['leaves'], strict=True):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5)
  assert results[0]['loss'] == pytest.approx(single['loss'], rel=1e-5)
  # One writer: a single TensorBoard file and no duplicated JSONL rows.
  assert len(list((tmp_path / 'two_hosts' / 'tensorboard').iterdir())) == 1
  rows = (tmp_path / 'two_hosts' / 'metrics.jsonl').read_text().splitlines()
  assert len(rows) == len(set(rows)) == 5  # 3 train rows, the epoch's, the length's.
