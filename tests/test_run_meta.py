"""RunMeta: the checkpoint's JSON document round-trips, in the format it always had."""

from medadv_jax.training.run_meta import RunMeta


def test_json_document_round_trips_with_the_running_sums():
  meta = RunMeta(epoch=2, batch=3, step=11, steps_per_epoch=4, best_epoch=1,
                 best_score=0.75, history=({'epoch': 1, 'loss': 0.5},
                                           {'epoch': 2, 'loss': 0.4}),
                 stop_reason='early_stopping')
  running = {'epoch': {'loss': [1.0, 2]}, 'window': {}}
  document = meta.to_json(running)
  assert list(document) == ['epoch', 'batch', 'step', 'steps_per_epoch', 'best_epoch',
                            'best_score', 'history', 'stop_reason', 'running']
  assert document['history'] == [{'epoch': 1, 'loss': 0.5}, {'epoch': 2, 'loss': 0.4}]
  assert RunMeta.from_json(document) == (meta, running)


def test_a_fresh_run_starts_before_its_first_epoch():
  meta = RunMeta(steps_per_epoch=7)
  assert (meta.epoch, meta.batch, meta.step, meta.best_score) == (0, 0, 0, -1.0)
  assert meta.history == () and meta.stop_reason is None
