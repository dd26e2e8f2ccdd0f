"""A cell group: seeds trained as one vmapped program, each with its own everything."""

import jax
import numpy as np
import pytest

from medadv_jax.training import group_loop, group_steps, loop
from training_helpers import (MODEL, REPO_ROOT, assert_trees_equal, leaves, run_on_devices,
                              synthetic_dataset, train_config, without_timing)

# 4 epochs, stop after 1 without a better validation score: seeds stop at
# different epochs, so the mask freezes some while others train.
CONFIG = dict(early_stopping_patience=1)
EPOCHS = 4


def _group(tmp, seeds, datasets=None, mode='standard', epochs=EPOCHS, **overrides):
  members = [group_loop.Member(s, (datasets or {}).get(s, synthetic_dataset()),
                               tmp / f'cell_s{s}') for s in seeds]
  return dict(zip(seeds, group_loop.train_group(
      MODEL, members, train_config(epochs, **CONFIG, **overrides), mode,
      tmp / f'group_{"-".join(map(str, seeds))}')))


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
  tmp = tmp_path_factory.mktemp('groups')
  # One split for every seed (the official protocol): one shared array.
  shared = synthetic_dataset()
  data = {s: shared for s in range(3)}
  return {seeds: _group(tmp / str(seeds), seeds, data) for seeds in ((0, 1), (2, 0), (0, 1, 2))}


def test_seeds_stop_on_their_own(runs):
  metas = {seed: meta for seed, (_, meta) in runs[(0, 1, 2)].items()}
  steps_per_epoch = 96 // 16
  for meta in metas.values():
    assert meta.step == meta.epoch * steps_per_epoch == len(meta.history) * steps_per_epoch
    assert meta.stop_reason in ('early_stopping', 'epochs')
    assert meta.best_score == max(h['val_score'] for h in meta.history)
  # The property the mask exists for: a seed stopped while another went on.
  assert len({meta.epoch for meta in metas.values()}) > 1, {s: m.epoch for s, m in metas.items()}


def test_a_seed_does_not_depend_on_its_companions_or_place(runs):
  """Seed 0 in (0, 1) and in (2, 0): other companion, other slot, bit for bit the same."""
  (a, meta_a), (b, meta_b) = runs[(0, 1)][0], runs[(2, 0)][0]
  assert_trees_equal(a, b)
  assert without_timing(meta_a.history) == without_timing(meta_b.history)
  assert meta_a.stop_reason == meta_b.stop_reason


def test_group_seed_matches_the_seed_trained_alone(runs, tmp_path):
  """Same init, batches and keys as `train_model`: equal up to rounding (vmap
  reorders float operations), so the first epoch agrees closely."""
  alone, alone_meta = loop.train_model(MODEL, synthetic_dataset(),
                                       train_config(EPOCHS, **CONFIG), 'standard', 1,
                                       tmp_path / 'alone')
  grouped, grouped_meta = runs[(0, 1)][1]
  first, first_alone = grouped_meta.history[0], alone_meta.history[0]
  for key in ('loss', 'grad_norm', 'val_loss', 'val_accuracy'):
    np.testing.assert_allclose(first[key], first_alone[key], rtol=1e-4, atol=1e-6)
  assert grouped_meta.epoch == alone_meta.epoch
  for x, y in zip(leaves(grouped), leaves(alone), strict=True):
    np.testing.assert_allclose(x, y, rtol=1e-3, atol=1e-4)


def test_per_seed_splits_give_per_seed_training(tmp_path):
  """Pooled protocol: each seed its own split; seed 0 in a group equals seed 0
  trained with its split in another group, not with another split."""
  data = {0: synthetic_dataset(0), 1: synthetic_dataset(1), 5: synthetic_dataset(5)}
  mixed = _group(tmp_path / 'a', (0, 1), data, mode='pgd', epochs=1)
  again = _group(tmp_path / 'b', (5, 0), data, mode='pgd', epochs=1)
  other_split = _group(tmp_path / 'c', (0, 1), {0: data[5], 1: data[1]}, mode='pgd', epochs=1)
  assert_trees_equal(mixed[0][0], again[0][0])
  assert not np.array_equal(leaves(mixed[0][0])[0], leaves(other_split[0][0])[0])
  assert without_timing(mixed[1][1].history) == without_timing(other_split[1][1].history)


def test_freeze_keeps_stopped_seeds_bit_for_bit():
  old = {'w': np.arange(6, dtype=np.float32).reshape(3, 2), 'step': np.arange(3)}
  new = jax.tree_util.tree_map(lambda a: a + 1, old)
  out = group_steps.freeze(new, old, np.array([True, False, True]))
  np.testing.assert_array_equal(out['w'], [[1, 2], [2, 3], [5, 6]])
  np.testing.assert_array_equal(out['step'], [1, 1, 3])


def test_layout_pads_the_seed_axis_to_the_devices():
  mesh = jax.sharding.Mesh(np.asarray(jax.devices()[:1]), ('data',))
  assert group_loop.layout(5, mesh) == {'group_size': 5, 'devices': 1, 'slots': 5,
                                        'seeds_per_device': 5}


def test_unequal_training_splits_are_refused(tmp_path):
  with pytest.raises(ValueError, match='differ in size'):
    _group(tmp_path, (0, 1), {0: synthetic_dataset(n=96), 1: synthetic_dataset(n=64)})


# Sharding: the seed axis split over 2 virtual CPU devices. The same layout (2
# devices, 2 slots each) gives the same numbers whatever the companions: (0, 1,
# 2) pads to 4 slots and equals (0, 1, 2, 3) bit for bit. Another layout (one
# device) compiles another program: equal up to rounding.
CHILD = f'''
import json, pathlib, sys
sys.path.insert(0, {str(REPO_ROOT / 'tests')!r})
import jax
from medadv_jax.runtime import devices
from medadv_jax.training import group_loop
from training_helpers import MODEL, leaves, synthetic_dataset, train_config

assert jax.device_count() == 2, jax.devices()
out = {{}}
tmp = pathlib.Path(sys.argv[1])
for seeds, n in (((0, 1, 2, 3), 2), ((0, 1), 1), ((2, 3), 1), ((0, 1, 2), 2)):
  name = '-'.join(map(str, seeds)) + f'_on{{n}}'
  members = [group_loop.Member(s, synthetic_dataset(), tmp / name / str(s)) for s in seeds]
  result = group_loop.train_group(MODEL, members, train_config(1), 'standard',
                                  tmp / name / 'group',
                                  mesh=devices.data_mesh(jax.devices()[:n]))
  out[name] = {{s: [x.tolist() for x in leaves(v)] for s, (v, _) in zip(seeds, result)}}
print('RESULT' + json.dumps(out))
'''


def test_seed_axis_sharded_over_two_devices(tmp_path):
  out = run_on_devices(CHILD, 2, tmp_path)
  four, padded = out['0-1-2-3_on2'], out['0-1-2_on2']
  assert len(four['0']) > 0
  for seed in '012':
    assert padded[seed] == four[seed]
  assert four['0'] != four['1']
  for seeds in ('0-1', '2-3'):
    for seed in seeds.split('-'):
      for a, b in zip(four[seed], out[f'{seeds}_on1'][seed], strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5)
