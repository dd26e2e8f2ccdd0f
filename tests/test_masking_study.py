"""A model built to mask gradients (a quantising first layer and a saturating
output, tests/own_model_nets.py) fails the strong attack's whole-box check in
a tiny study and is kept out of the verdicts with its reason; a plain model of
the same study is not flagged."""

import json

from medadv_jax.reporting import fitness_table
from medadv_jax.study import runner
from training_helpers import default_config

PLAIN, MASKING = 'own_model_nets:TinyOwnNet', 'own_model_nets:MaskingNet'


def test_a_gradient_masking_model_is_flagged_and_left_out_of_the_verdicts(tmp_path):
  config = default_config('smoke')
  config.model.names, config.model.widths = (PLAIN, MASKING), (1.0,)
  config.train.modes, config.train.epochs = ('standard',), 2
  config.data.train_limit, config.data.attack_per_class = 512, 8
  config.attack.names, config.attack.targets = ('fgsm', 'pgd'), ('untargeted',)
  config.attack.eps_255 = (0.0, 2.0, 8.0)
  config.attack.sanity.more_steps_eps_255 = (8.0,)
  config.attack.audit.images = 4
  rows = runner.run_study(config, tmp_path)
  by_model = {r['model']: r for r in rows}
  masking, plain = by_model[MASKING], by_model[PLAIN]
  assert masking['fitness_masks_gradients'] is True and masking['fit'] is False
  assert 'masks gradients' in masking['fitness_reasons']
  assert masking['sanity_large_eps'] is False
  assert plain['fitness_masks_gradients'] is False
  assert not fitness_table.fit_rows([masking])
  report = (tmp_path / 'report.md').read_text()
  assert 'masks gradients' in report
  cells = sorted((tmp_path / 'cells').iterdir())
  timing = [json.loads((c / 'timing.json').read_text()) for c in cells]
  assert all('audit' in t and any(k.startswith('strong_attack/whole_box/') for k in t)
             for t in timing)
  assert all((c / "audit.json").exists() for c in cells)
