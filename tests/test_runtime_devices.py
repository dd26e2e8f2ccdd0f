"""Attack programs split their images over the run's devices, verdicts unchanged."""

import json
import os
import subprocess
import sys

from training_helpers import REPO_ROOT

# XLA reads the device count when the backend starts, so the comparison runs in
# a child process started with the flag. Three devices: chunk sizes (16, 256,
# the cap) are not multiples of 3, so padding to a multiple is exercised too.
CHILD = '''
import json
import jax
import numpy as np
from medadv_jax.attacks import eps_grid, registry, schedules
from medadv_jax.models import registry as models
from medadv_jax.models.eval_apply import EvalApply
from medadv_jax.runtime import devices

assert jax.local_device_count() == 3, jax.devices()
# The study's bound on images per program is per device.
import ml_collections
from medadv_jax.attacks import from_config
assert from_config.images_per_program(
    ml_collections.ConfigDict({'max_images_per_program': 16})) == 48
model = models.get_model('cnn', num_classes=3, width=0.25)
rng = np.random.default_rng(0)
# Noise of random brightness: a random network tells these apart (plain noise
# images all land in one class, and no attack could fool it).
images = (rng.uniform(0, 1, (40, 8, 8, 1)) * rng.uniform(0, 1, (40, 1, 1, 1))).astype(
    np.float32)
variables = model.init(jax.random.key(0), images[:2], train=False)
noise = np.random.default_rng(1)
variables = jax.tree_util.tree_map(
    lambda a: a + 0.1 * noise.standard_normal(a.shape).astype(np.float32), variables)
apply_fn = EvalApply(model)
labels = np.array(apply_fn(variables, images).argmax(-1), np.int32)
labels[::5] = (labels[::5] + 1) % 3  # Some wrong when clean.
grid = np.linspace(0, 0.05, 29).astype(np.float32)
# PGD-5 over 29 radii is worth certifying, so the cascade certifies too.
attack = registry.AttackSpec('pgd', steps=5, step_size_frac=0.25)
assert schedules.worth_certifying(attack, grid.size)

spread = {}
def recording(module, name):
  program = getattr(module, name)
  def run(*args):
    out = program(*args)
    spread.setdefault(name, set()).add(len(out.sharding.device_set))
    return out
  setattr(module, name, run)
for module, name in ((schedules, '_correct_at_jit'), (schedules, '_certified_jit'),
                     (eps_grid, '_correct_over_eps_jit'), (eps_grid, '_clean_correct_jit')):
  recording(module, name)

out = {}
for way in ('three devices', 'one device'):
  if way == 'one device':
    devices.count = lambda: 1
  spread.clear()
  out[way] = {'spread': {k: sorted(v) for k, v in spread.items()}}
  for schedule in ('vmap', 'cascade'):
    correct = schedules.evaluate(schedule, attack, apply_fn, variables, images, labels,
                                 grid, jax.random.key(2), max_images_per_program=16)
    out[way][schedule] = correct.tolist()
  out[way]['spread'] = {k: sorted(v) for k, v in spread.items()}
print('RESULT' + json.dumps(out))
'''


def test_attack_programs_spread_over_every_device_and_keep_every_verdict():
  env = dict(os.environ, XLA_FLAGS='--xla_force_host_platform_device_count=3')
  child = subprocess.run([sys.executable, '-c', CHILD], cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
  assert child.returncode == 0, child.stderr[-3000:]
  out = json.loads(child.stdout.split('RESULT')[-1])
  three, one = out['three devices'], out['one device']
  programs = {'_correct_at_jit', '_certified_jit', '_correct_over_eps_jit',
              '_clean_correct_jit'}
  assert three['spread'] == {name: [3] for name in programs}
  assert one['spread'] == {name: [1] for name in programs}
  for schedule in ('vmap', 'cascade'):
    assert three[schedule] == one[schedule], schedule
  curve = [sum(row) for row in one['cascade']]
  assert curve[0] > curve[-1] > 0, curve  # Some fooled, some not: verdicts that can differ.
