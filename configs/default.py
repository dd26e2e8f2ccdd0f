"""Default study: a width family of plain CNNs on PneumoniaMNIST (28x28).

Sized to finish on a 2-core laptop CPU in minutes. `arg` selects a variant:
  ''       the default study;
  'smoke'  seconds-long version for tests and a first try.

Override any field from the command line, e.g.
  --config=configs/default.py --config.model.widths='(0.5, 1.0)'
"""

import ml_collections

# The paper's grid, in units of 1/255: 0; 0.01 ... 0.09; 0.1 ... 0.9; 1 ... 9; 10.
PAPER_EPS_255 = ((0.0,) + tuple(round(0.01 * i, 2) for i in range(1, 10))
                 + tuple(round(0.1 * i, 1) for i in range(1, 10))
                 + tuple(float(i) for i in range(1, 11)))


def get_config(arg: str = '') -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.seeds = (0,)

  config.data = ml_collections.ConfigDict()
  config.data.name = 'pneumoniamnist'
  config.data.size = 28
  config.data.dir = ''  # Folder with the official npz; else $MEDMNIST_DIR, the cache.
  config.data.cache_dir = '~/.cache/medadv_jax/medmnist'
  config.data.download = True
  config.data.verify_md5 = True
  config.data.train_limit = 0  # Use only the first N training images; 0 = all.
  config.data.attack_per_class = 100  # Test images attacked per class; 0 = all.

  config.model = ml_collections.ConfigDict()
  config.model.names = ('cnn',)  # Registry names: families or named presets.
  config.model.widths = (0.125, 0.25, 0.5, 1.0)
  config.model.depths = ()  # Empty: each family's own depth.

  config.train = ml_collections.ConfigDict()
  config.train.modes = ('standard', 'pgd')
  config.train.epochs = 6
  config.train.batch_size = 64
  config.train.learning_rate = 1e-3
  config.train.l2_coeff = 1e-4  # On conv and dense kernels, as in the paper.
  config.train.eval_batch_size = 1024
  config.train.adv = ml_collections.ConfigDict()
  config.train.adv.eps_255 = 2.0
  config.train.adv.steps = 5
  config.train.adv.step_size_frac = 0.25
  # BatchNorm while crafting training attacks: 'batch' statistics of the batch
  # being attacked (as the following training pass), or 'running' averages.
  config.train.adv.bn_mode = 'batch'

  config.attack = ml_collections.ConfigDict()
  config.attack.names = ('fgsm', 'pgd')
  config.attack.targets = ('least_likely', 'untargeted')
  config.attack.eps_255 = PAPER_EPS_255
  config.attack.pgd_steps = 20
  config.attack.pgd_step_size_frac = 0.1
  config.attack.random_start = True
  # Bound on eps x examples per compiled attack program (memory and cache use).
  config.attack.max_images_per_program = 1024

  if arg == 'smoke':
    config.data.train_limit = 256
    config.data.attack_per_class = 8
    config.model.widths = (0.25, 0.5)
    config.train.epochs = 2
    config.train.adv.steps = 2
    config.attack.pgd_steps = 3
  elif arg:
    raise ValueError(f"configs/default.py: unknown arg {arg!r}; allowed: '' or 'smoke'")
  return config
