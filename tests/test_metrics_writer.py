"""Metric rows land in metrics.jsonl and in TensorBoard event files, resume-safe."""

from medadv_jax.atomic_files import read_jsonl
from medadv_jax.training.metrics_writer import MetricsWriter
from training_helpers import read_events


def _scalars(events):
  return {(e.step, v.tag): v.simple_value for e in events for v in e.summary.value}


def test_rows_go_to_jsonl_and_tensorboard_with_the_same_tags_and_values(tmp_path):
  writer = MetricsWriter(tmp_path)
  writer.write(10, {'train/loss': 0.5, 'epoch': 1})
  writer.write(20, {'train/loss': 0.25, 'val/accuracy': 0.75})
  writer.close()
  assert read_jsonl(tmp_path / 'metrics.jsonl') == [
      {'step': 10, 'train/loss': 0.5, 'epoch': 1},
      {'step': 20, 'train/loss': 0.25, 'val/accuracy': 0.75}]
  (events,) = read_events(tmp_path)
  assert _scalars(events) == {(10, 'train/loss'): 0.5, (10, 'epoch'): 1.0,
                              (20, 'train/loss'): 0.25, (20, 'val/accuracy'): 0.75}


def test_resume_drops_rows_after_the_checkpoint_and_purges_them_in_tensorboard(tmp_path):
  writer = MetricsWriter(tmp_path)
  for step in (2, 4, 6, 8):
    writer.write(step, {'train/loss': 1.0 / step})
  writer.close()
  with open(tmp_path / 'metrics.jsonl', 'a') as f:
    f.write('{"step": 10, "train/lo')  # A line cut short by a kill.
  writer = MetricsWriter(tmp_path, resume_step=4)
  writer.write(6, {'train/loss': 0.125})
  writer.close()
  assert [(r['step'], r['train/loss']) for r in read_jsonl(tmp_path / 'metrics.jsonl')] == [
      (2, 0.5), (4, 0.25), (6, 0.125)]
  first, second = read_events(tmp_path)
  assert max(e.step for e in first) == 8
  # TensorBoard hides the old file's events from `purge_step` (resume_step + 1) on.
  assert any(e.session_log.status == e.session_log.START and e.step == 5 for e in second)
  assert _scalars(second) == {(6, 'train/loss'): 0.125}


def test_a_disabled_writer_writes_nothing(tmp_path):
  writer = MetricsWriter(tmp_path / 'run', enabled=False)
  writer.write(1, {'train/loss': 1.0})
  writer.flush()
  writer.close()
  assert not (tmp_path / 'run').exists()
