"""A cell group's seeds trained one by one and as one program: speed and agreement.

  python benchmarks/seed_groups.py                       # the default study's group
  python benchmarks/seed_groups.py --widths=0.125 --steps=150 --modes=standard

For each width and mode of the default study (PneumoniaMNIST, its seeds): the
seeds are trained one by one (`loop.train_model`, as with
config.seed_groups=False) and as one program (`group_loop.train_group`), each
way from an empty folder, timed wall to wall with its compilation: as in the
study, a persistent compilation cache (empty at the start) lets the seeds after
the first one by one load their programs. `--steps`
fixes the length (min_steps = max_steps) so both ways run the same number of
steps; 0 keeps the study's rule. Prints the time ratio as N.NNx per width and
over all widths, and the statistical agreement: per seed, the clean test
accuracy of the two ways, their paired mean difference with a t-based 95 %
interval, and the seed-to-seed standard deviation it is compared against.
Then the seeds' attacks (issue item: attack a group's models together): the
study's PGD at --attack_eps_255 on --attack_images test images, for each
seed's weights one program at a time and as one program vmapped over the
seeds, each timed warm (best of 3) and cold, with the per-image verdicts of
the two ways compared.
"""

import os
import pathlib
import sys
import tempfile
import time

from absl import app, flags
import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

# pylint: disable=g-import-not-at-top
from benchmarks import common
from medadv_jax.data.augment import AugmentSettings
from medadv_jax.attacks import pgd
from medadv_jax.data.dataset import load_dataset
from medadv_jax.models import registry as models_registry
from medadv_jax.models.eval_apply import EvalApply
from medadv_jax.ops import fast_conv_gradient
from medadv_jax.runtime import compilation_cache
from medadv_jax.training import group_loop, loop

_WIDTHS = flags.DEFINE_list('widths', None, 'Widths; default: the study\'s.')
_MODES = flags.DEFINE_list('modes', ['standard'], 'Training modes.')
_STEPS = flags.DEFINE_integer('steps', 300, 'Optimiser steps per seed (0: the study\'s rule).')
_SEEDS = flags.DEFINE_list('seeds', None, 'Seeds; default: the study\'s.')
_TRAIN_LIMIT = flags.DEFINE_integer('train_limit', 0, 'Training images used; 0 = all.')
_ATTACK_IMAGES = flags.DEFINE_integer(
    'attack_images', 100, 'Test images each seed\'s model is attacked on when timing the '
    'attacks one by one and grouped (100: the default study\'s per seed); 0: skip.')
_ATTACK_EPS_255 = flags.DEFINE_float('attack_eps_255', 2.0, 'Radius of that PGD (x 1/255).')


def test_accuracy(model, variables, dataset) -> float:
  logits = jax.jit(lambda v, x: EvalApply(model)(v, x))(variables, dataset.test_images)
  return float(np.mean(np.argmax(np.asarray(logits), -1) == dataset.test_labels))


def one_way(model, datasets, config, mode, seeds, grouped: bool):
  """(seconds, per-seed test accuracies) of training `seeds` one way."""
  augment = AugmentSettings.from_config(config.data.augment, datasets[seeds[0]].label_names)
  jax.clear_caches()  # Both ways compile (their programs differ, so the disk cache misses).
  with tempfile.TemporaryDirectory() as root:
    root = pathlib.Path(root)
    started = time.perf_counter()
    if grouped:
      members = [group_loop.Member(s, datasets[s], root / f'cell{s}') for s in seeds]
      out = group_loop.train_group(model, members, config.train, mode, root / 'group',
                                   augment=augment)
    else:
      out = [loop.train_model(model, datasets[s], config.train, mode, s, root / f'cell{s}',
                              augment=augment) for s in seeds]
    seconds = time.perf_counter() - started
  variables = [v for v, _ in out]
  return seconds, [test_accuracy(model, v, datasets[s]) for s, v in zip(seeds, variables)], \
      variables


def attack_both_ways(model, variables, dataset, attack_config) -> dict:
  """The study's PGD at --attack_eps_255 on the first --attack_images test images,
  for each seed's `variables`: one jitted program called per model, and one
  program vmapped over the stacked models (each model the same key both ways).
  Seconds per way (cold: first call after `jax.clear_caches()`; warm: best of 3)
  and how many per-image verdicts (fooled or not) the two ways share."""
  images = dataset.test_images[:_ATTACK_IMAGES.value]
  labels = dataset.test_labels[:_ATTACK_IMAGES.value]
  apply = EvalApply(model)

  def attack(v, key):
    x_adv = pgd.pgd(lambda x: apply(v, x), images, labels, _ATTACK_EPS_255.value / 255.0,
                    key, steps=attack_config.pgd_steps,
                    step_size_frac=attack_config.pgd_step_size_frac)
    return jnp.argmax(apply(v, x_adv), -1) != labels

  def grouped(v, keys):
    with fast_conv_gradient.stacked_models():  # As the grouped training step.
      return jax.vmap(attack)(v, keys)

  keys = jax.random.split(jax.random.key(0), len(variables))
  stacked = jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *variables)
  out = {}
  for name in ('alone', 'group'):
    jax.clear_caches()  # Each way compiles its own program.
    one, group = jax.jit(attack), jax.jit(grouped)
    run = ((lambda: [one(v, k) for v, k in zip(variables, keys)]) if name == 'alone'
           else (lambda: group(stacked, keys)))
    fooled, out[f'{name}_cold_s'] = common.timed(run)
    out[f'{name}_warm_s'] = min(common.repeat_timed(run, 3))
    out[f'{name}_fooled'] = np.asarray(fooled)
  agree = out.pop('alone_fooled') == out.pop('group_fooled')
  return dict(out, images=int(images.shape[0]), verdicts=int(agree.size),
              verdicts_agree=int(agree.sum()), warm_speedup=out['alone_warm_s'] /
              out['group_warm_s'], cold_speedup=out['alone_cold_s'] / out['group_cold_s'])


def agreement(alone, grouped) -> dict:
  """Paired mean difference (grouped - alone) with its t interval, against the
  seed-to-seed SD of the one-by-one accuracies."""
  d = np.asarray(grouped) - np.asarray(alone)
  n = d.size
  half = (stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan
  spread = float(np.std(alone, ddof=1)) if n > 1 else np.nan
  return {'mean_difference': float(d.mean()), 'ci': [float(d.mean() - half),
                                                       float(d.mean() + half)],
          'seed_sd': spread, 'within_spread': bool(abs(d.mean()) <= spread)}


def main(argv):
  del argv
  common.hide_library_info_logs()
  # As the study: a persistent compilation cache, empty at the start, so the
  # seeds trained one by one after the first load its programs.
  cache = tempfile.TemporaryDirectory()
  os.environ.pop(compilation_cache.ENV_FOLDER, None)  # Else that folder would win.
  compilation_cache.enable(cache.name)
  machine = common.machine_info()
  config = common.pneumonia_config(_TRAIN_LIMIT.value)
  if _STEPS.value:
    config.train.min_steps = config.train.max_steps = _STEPS.value
  seeds = tuple(int(s) for s in (_SEEDS.value or config.seeds))
  widths = [float(w) for w in (_WIDTHS.value or config.model.widths)]
  dataset = load_dataset(config.data, seeds[0])
  datasets = {s: dataset for s in seeds}  # The default study's official split.
  rows = []
  for width in widths:
    model = models_registry.get_model('cnn', num_classes=dataset.num_classes, width=width)
    for mode in _MODES.value:
      alone_s, alone, variables = one_way(model, datasets, config, mode, seeds, grouped=False)
      group_s, grouped, _ = one_way(model, datasets, config, mode, seeds, grouped=True)
      rows.append({'width': width, 'mode': mode, 'alone_s': alone_s, 'group_s': group_s,
                   'speedup': alone_s / group_s, 'alone_accuracy': alone,
                   'group_accuracy': grouped, **agreement(alone, grouped)})
      print(f'width {width:g} {mode}: {alone_s:.1f} s one by one, {group_s:.1f} s grouped, '
            f'{alone_s / group_s:.2f}x', flush=True)
      if _ATTACK_IMAGES.value:
        rows[-1]['attack'] = attack_both_ways(model, variables, dataset, config.attack)
        a = rows[-1]['attack']
        print(f'  attacks: {a["alone_warm_s"]:.2f} s one by one, {a["group_warm_s"]:.2f} s '
              f'grouped (warm), {a["warm_speedup"]:.2f}x; cold {a["cold_speedup"]:.2f}x; '
              f'verdicts agree {a["verdicts_agree"]}/{a["verdicts"]}', flush=True)
  total = sum(r['alone_s'] for r in rows) / sum(r['group_s'] for r in rows)
  print(common.describe_machine(machine))
  length = _STEPS.value or "the study's"
  print(f'{len(seeds)} seeds, {length} steps each, batch '
        f'{config.train.batch_size}; wall time from a fresh compile (shared machine: noisy)')
  print(common.table(
      ('width', 'mode', 'one by one s', 'grouped s', 'speedup', 'test acc. one by one',
       'grouped', 'grouped - alone [95% t]', 'seed SD', 'within spread'),
      [(f'{r["width"]:g}', r['mode'], f'{r["alone_s"]:.1f}', f'{r["group_s"]:.1f}',
        f'{r["speedup"]:.2f}x', f'{np.mean(r["alone_accuracy"]):.3f}',
        f'{np.mean(r["group_accuracy"]):.3f}',
        f'{r["mean_difference"]:+.3f} [{r["ci"][0]:+.3f}, {r["ci"][1]:+.3f}]',
        f'{r["seed_sd"]:.3f}', 'yes' if r['within_spread'] else 'no') for r in rows]))
  print(f'over all widths: {total:.2f}x')
  attacked = [r['attack'] for r in rows if 'attack' in r]
  if attacked:
    ratio = sum(a['alone_warm_s'] for a in attacked) / sum(a['group_warm_s'] for a in attacked)
    print(f'attacks over all widths (warm): {ratio:.2f}x')
  common.write_json('seed_groups', {'machine': machine, 'seeds': list(seeds),
                                    'steps': _STEPS.value, 'rows': rows,
                                    'speedup_all': total})


if __name__ == '__main__':
  app.run(main)
