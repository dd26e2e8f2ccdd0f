"""Peer check of the audit: the same weights through torchattacks' AutoAttack.

For every finished cell of a study with an audit.json, runs torchattacks'
`AutoAttack` (standard version: APGD-CE, APGD-T, FAB-T, Square at 5000
queries; Croce and Hein's budgets; APGD-T left out below 4 classes, where
torchattacks cannot run it) in PyTorch on the audited images at each
audit radius, and prints per model and radius how many images each side
leaves robust and on how many the per-image verdicts agree. The project's
side is the study's worst case and the audit together (audit.json 'robust').
The model stays in JAX: a torch autograd function calls its forward pass and
its vector-Jacobian product, so both sides attack the very same function.

Needs the extra requirements of benchmarks/requirements-peer.txt (torch on
CPU, torchattacks), which the project and its CI never need:

  pip install -r benchmarks/requirements-peer.txt
  python benchmarks/peer_autoattack.py --config=configs/default.py --workdir=runs/default
"""

import json
import pathlib
import sys

from absl import app, flags
import jax
import numpy as np
from ml_collections import config_flags

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
# pylint: disable=g-import-not-at-top
from benchmarks import common
from medadv_jax import cell_data
from medadv_jax.data import dataset as dataset_lib
from medadv_jax.models import registry
from medadv_jax.models.eval_apply import EvalApply
from medadv_jax.study import cells as cells_lib
from medadv_jax.training.loop import train_model

_CONFIG = config_flags.DEFINE_config_file('config', None, 'The study\'s config.')
_WORKDIR = flags.DEFINE_string('workdir', None, 'The finished study.', required=True)
_MAX_CELLS = flags.DEFINE_integer('max_cells', 0, 'Check at most this many cells; 0: all.')


def torch_model(apply_fn, variables):
  """A torch module computing `apply_fn(variables, x)` (NCHW in, logits out), with
  gradients from JAX's vector-Jacobian product."""
  import torch  # The peer's requirement only.

  forward = jax.jit(lambda x: apply_fn(variables, x))
  vjp = jax.jit(lambda x, g: jax.vjp(lambda y: apply_fn(variables, y), x)[1](g)[0])

  class _Logits(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
      ctx.save_for_backward(x)
      nhwc = np.transpose(x.detach().cpu().numpy(), (0, 2, 3, 1))
      return torch.from_numpy(np.array(forward(nhwc), np.float32))

    @staticmethod
    def backward(ctx, grad):
      (x,) = ctx.saved_tensors
      nhwc = np.transpose(x.detach().cpu().numpy(), (0, 2, 3, 1))
      g = np.asarray(vjp(nhwc, grad.detach().cpu().numpy()), np.float32)
      return torch.from_numpy(np.transpose(g, (0, 3, 1, 2)).copy())

  class _Module(torch.nn.Module):
    def forward(self, x):  # pylint: disable=arguments-differ
      return _Logits.apply(x)

  return _Module().eval()


def standard_set(peer_model, eps: float, num_classes: int, seed: int):
  """torchattacks' AutoAttack, standard version; below 4 classes, where its
  APGD-T's targeted DLR loss is undefined (torchattacks fails there), the
  standard set without APGD-T: APGD-CE, FAB-T, Square at 5000 queries."""
  import torchattacks
  if num_classes >= 4:
    return torchattacks.AutoAttack(peer_model, norm='Linf', eps=eps, version='standard',
                                   n_classes=num_classes, seed=seed)
  return torchattacks.MultiAttack([
      torchattacks.APGD(peer_model, norm='Linf', eps=eps, seed=seed, loss='ce',
                        n_restarts=1),
      torchattacks.FAB(peer_model, norm='Linf', eps=eps, seed=seed, multi_targeted=True,
                       n_classes=num_classes, n_restarts=1),
      torchattacks.Square(peer_model, norm='Linf', eps=eps, seed=seed, n_queries=5000,
                          n_restarts=1)])


def check_cell(config, cell, cell_dir: pathlib.Path) -> list[dict]:
  """Per audit radius: robust counts of both sides and their per-image agreement."""
  import torch

  audit = json.loads((cell_dir / cell_data.AUDIT_FILE).read_text())
  dataset = dataset_lib.load_dataset(config.data, cell.seed)
  model = registry.get_model(cell.model, num_classes=dataset.num_classes, width=cell.width,
                             depth=cell.depth)
  variables, _ = train_model(model, dataset, config.train, cell.train_mode, cell.seed,
                             cell_dir)  # Resumes to the cell's weights; trains nothing.
  indices = np.array(audit['test_indices'], int)
  images = np.transpose(dataset.test_images[indices], (0, 3, 1, 2)).copy()
  x, y = torch.from_numpy(images), torch.from_numpy(dataset.test_labels[indices].astype(np.int64))
  peer_model = torch_model(EvalApply(model), variables)
  out = []
  for e, eps_255 in enumerate(audit['eps_255']):
    attack = standard_set(peer_model, eps_255 / 255.0, dataset.num_classes, cell.seed)
    x_adv = attack(x, y)
    with torch.no_grad():
      peer = (peer_model(x_adv).argmax(1) == y).numpy()
    ours = np.array(audit['robust'][e], bool)
    out.append({'cell': cell.name, 'eps_255': eps_255, 'images': int(indices.size),
                'robust_project': int(ours.sum()), 'robust_peer': int(peer.sum()),
                'agree': int(np.sum(ours == peer)),
                'peer_only_fooled': int(np.sum(ours & ~peer)),
                'project_only_fooled': int(np.sum(~ours & peer))})
    print(json.dumps(out[-1]), flush=True)
  return out


def main(argv):
  del argv
  config, workdir = _CONFIG.value, pathlib.Path(_WORKDIR.value)
  done = [c for c in cells_lib.expand_cells(config)
          if (workdir / 'cells' / c.name / cell_data.AUDIT_FILE).exists()]
  if _MAX_CELLS.value:
    done = done[:_MAX_CELLS.value]
  results = []
  for cell in done:
    results += check_cell(config, cell, workdir / 'cells' / cell.name)
  columns = ('cell', 'eps_255', 'images', 'robust_project', 'robust_peer', 'agree',
             'peer_only_fooled', 'project_only_fooled')
  print(common.table(columns, [[r[c] for c in columns] for r in results]))
  common.write_json('peer_autoattack', {'machine': common.machine_info(), 'results': results})


if __name__ == '__main__':
  app.run(main)
