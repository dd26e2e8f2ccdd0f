"""The progress line: rate, ETA and how often it is logged, on a fake clock."""

from medadv_jax.training import progress


class FakeClock:
  def __init__(self):
    self.now = 100.0

  def __call__(self):
    return self.now


def test_rate_and_eta_count_only_work_done_since_start():
  clock, lines = FakeClock(), []
  bar = progress.Progress('run', total=100, done=20, items_per_unit=32, interval_s=30,
                          clock=clock, log=lines.append)
  clock.now += 10
  bar.update(70)
  # 50 steps of 32 images in 10 s; 30 steps left at 5 steps/s.
  assert bar.rate() == 160.0 and bar.eta_seconds() == 6.0
  assert lines == []  # Less than interval_s since the start.
  clock.now += 30
  bar.update(80, 'epoch 2/3')  # 60 steps x 32 images in 40 s; 20 steps left.
  assert lines == ['run: 80/100 steps (80%), 48.0 img/s, ETA 13s | epoch 2/3']
  bar.update(81)
  bar.update(82, force=True)
  assert len(lines) == 2 and lines[-1].startswith('run: 82/100')


def test_eta_is_unknown_before_any_work():
  bar = progress.Progress('run', total=10, clock=FakeClock(), log=lambda _: None)
  assert bar.line() == 'run: 0/10 steps (0%), 0.0 img/s, ETA ?'


def test_format_duration():
  assert [progress.format_duration(s) for s in (0, 42.4, 185, 3725)] == [
      '0s', '42s', '3m05s', '1h02m']
