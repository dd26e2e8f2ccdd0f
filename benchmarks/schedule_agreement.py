"""Do the four attack schedules give the same per-image verdicts on trained models?

Trains the default `cnn` on PneumoniaMNIST (the default study's recipe, standard
training, unless --epochs / --train_limit say otherwise) at each width, then runs the paper's PGD-20 (both targets) over the
paper's 29 radii with every schedule and compares the per-image verdicts,
cumulated over radii, with the loop's. Prints, per width and attack, the
mismatched (image, radius) pairs of each schedule and how many images the
cascade's certificates covered; writes the same to JSON.

  python benchmarks/schedule_agreement.py --widths=0.25,1
"""

import json
import pathlib
import sys
import tempfile

from absl import app, flags
import jax
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
# pylint: disable=g-import-not-at-top
from configs import default as default_config
from medadv_jax.attacks import eps_grid, from_config, registry as attack_registry, schedules
from medadv_jax.data import dataset as dataset_lib
from medadv_jax.models import registry
from medadv_jax.models.eval_apply import EvalApply
from medadv_jax.training.loop import train_model

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
_WIDTHS = flags.DEFINE_list('widths', ['0.25', '1'], 'cnn widths to train and compare.')
_EPOCHS = flags.DEFINE_integer('epochs', 0, 'Training epochs; 0: the default study\'s.')
_TRAIN_LIMIT = flags.DEFINE_integer('train_limit', 0, 'Training images; 0: all.')
_PER_CLASS = flags.DEFINE_integer('per_class', 0,
                                  'Attacked test images per class; 0: the default study\'s.')
_OUT = flags.DEFINE_string('out', str(REPO_ROOT / 'benchmarks' / 'results' /
                                      'schedule_agreement.json'), 'JSON output path.')


def main(argv):
  del argv
  config = default_config.get_config()
  if _EPOCHS.value:  # A fixed number of epochs instead of the default's length rule.
    config.train.min_steps, config.train.epochs = 0, _EPOCHS.value
  config.data.train_limit = _TRAIN_LIMIT.value
  config.data.attack_per_class = _PER_CLASS.value or config.data.attack_per_class
  dataset = dataset_lib.load_dataset(config.data, 0)
  subset = dataset_lib.attack_subset(dataset.test_labels, config.data.attack_per_class, 0)
  images, labels = dataset.test_images[subset], dataset.test_labels[subset]
  eps = (np.asarray(config.attack.eps_255, np.float64) / 255).astype(np.float32)
  batch = config.attack.max_images_per_program
  results = []
  for width in map(float, _WIDTHS.value):
    model = registry.get_model('cnn', num_classes=dataset.num_classes, width=width)
    with tempfile.TemporaryDirectory() as run_dir:
      variables, _ = train_model(model, dataset, config.train, 'standard', 0,
                                 pathlib.Path(run_dir))
    apply_fn = EvalApply(model)
    certificates = schedules.certify(apply_fn, variables, images, labels, eps, batch)
    for spec in from_config.attack_specs(config.attack):
      if spec.name != 'pgd':
        continue
      key = attack_registry.attack_key(0, spec)
      verdicts = {name: schedules.evaluate(name, spec, apply_fn, variables, images, labels,
                                           eps, key, batch)
                  for name in ('loop', 'vmap', 'cascade', 'min_eps')}
      loop = eps_grid.worst_case_so_far(verdicts['loop'])
      row = dict(width=width, attack=f'pgd-{spec.steps} {spec.target}',
                 images=int(labels.size), radii=int(eps.size),
                 clean_correct=int(loop[0].sum()), robust_at_largest=int(loop[-1].sum()),
                 certified_images=int(certificates.certified.sum()) if certificates else 0)
      for name in ('vmap', 'cascade', 'min_eps'):
        cumulated = eps_grid.worst_case_so_far(verdicts[name])
        row[f'{name}_mismatches'] = int(np.sum(cumulated != loop))
      results.append(row)
      print(json.dumps(row), flush=True)
  pathlib.Path(_OUT.value).parent.mkdir(parents=True, exist_ok=True)
  pathlib.Path(_OUT.value).write_text(json.dumps(
      dict(backend=jax.default_backend(), results=results), indent=1))


if __name__ == '__main__':
  app.run(main)
