"""The orbax wrapper: keep-last-N, exact round trip, shardings, half-written saves."""

import jax.numpy as jnp
import numpy as np

from medadv_jax.runtime import devices
from medadv_jax.training import checkpointing


def _arrays(step):
  return {'w': jnp.arange(6.0).reshape(2, 3) * step, 'n': jnp.array(step, jnp.int32)}


def test_keeps_the_newest_n_and_restores_arrays_and_meta_exactly(tmp_path):
  checkpointer = checkpointing.Checkpointer(tmp_path, max_to_keep=2)
  for step in (3, 6, 9):
    checkpointer.save(step, _arrays(step), {'epoch': step // 3, 'loss': 0.1 + step / 7})
  assert checkpointer.all_steps() == [6, 9] and checkpointer.latest_step() == 9
  arrays, meta = checkpointer.restore(9, _arrays(0))
  np.testing.assert_array_equal(arrays['w'], _arrays(9)['w'])
  assert arrays['n'].dtype == jnp.int32 and int(arrays['n']) == 9
  assert meta == {'epoch': 3, 'loss': 0.1 + 9 / 7}  # Floats round-trip bit for bit.
  assert checkpointer.restore_meta(6)['epoch'] == 2
  checkpointer.close()


def test_restores_onto_the_templates_mesh(tmp_path):
  mesh = devices.data_mesh()
  checkpointer = checkpointing.Checkpointer(tmp_path)
  checkpointer.save(1, _arrays(1), {})
  template = devices.replicate(_arrays(0), mesh)
  arrays, _ = checkpointer.restore(1, template)
  assert arrays['w'].sharding == devices.replicated(mesh)
  checkpointer.close()


def test_a_save_cut_short_by_a_kill_is_ignored_and_cleaned_up(tmp_path):
  checkpointer = checkpointing.Checkpointer(tmp_path)
  checkpointer.save(4, _arrays(4), {'epoch': 1})
  checkpointer.close()
  # What a kill during the save of step 8 leaves: a temporary folder, never renamed.
  partial = tmp_path / '8.orbax-checkpoint-tmp-1234567'
  (partial / 'arrays').mkdir(parents=True)
  (partial / 'arrays' / 'junk').write_bytes(b'\0' * 10)
  checkpointer = checkpointing.Checkpointer(tmp_path, max_to_keep=2)
  assert checkpointer.latest_step() == 4
  assert checkpointer.restore_meta(4) == {'epoch': 1}
  # The resumed run saves step 8 again, complete this time.
  checkpointer.save(8, _arrays(8), {'epoch': 2})
  checkpointer.close()
  assert not partial.exists()
  assert checkpointing.Checkpointer(tmp_path).all_steps() == [4, 8]
