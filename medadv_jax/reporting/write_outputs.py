"""Writes every study artefact from the results rows."""

import pathlib

from medadv_jax import atomic_files
from medadv_jax.reporting import (audit_table, claim_summary, example_figures, figures,
                                  min_eps_figures, per_image_data, provenance, report,
                                  results_table, size_figures, summary_table,
                                  training_figures)


def write_all(rows, workdir: pathlib.Path, margins=None) -> None:
  """Tables, figures and report.md in `workdir`, each listed at the end of the report.

  results.csv / .json, summary.csv and claims.csv always (header only without
  rows); the figures when there are rows; min_eps_distributions.png only when some cell has
  a per_image.json, and the gallery and saliency maps only when the cells they
  show have an examples.npz (cells finished before these existed have none).
  `margins` (`verdict.Margins`) lets verdicts be 'equivalent'.
  """
  workdir = pathlib.Path(workdir)
  results_table.write_csv(rows, workdir / 'results.csv')
  results_table.write_json(rows, workdir / 'results.json')
  summary_table.write_csv(summary_table.summarise(rows), workdir / 'summary.csv')
  files = [('results.csv', 'every cell x attack x eps row (also results.json)'),
           ('summary.csv', 'accuracy mean ± std over seeds per size x train mode x '
            'attack x eps, with params, FLOPs and clean test accuracy')]
  per_image = {}
  if rows:
    figures.plot_robustness_curves(rows, workdir / 'robustness_curves.png')
    size_figures.plot_robust_vs_size(rows, workdir / 'robust_vs_size.png', 'params')
    size_figures.plot_robust_vs_size(rows, workdir / 'robust_vs_flops.png', 'flops')
    size_figures.plot_clean_vs_size(rows, workdir / 'clean_vs_size.png')
    files += [('robustness_curves.png', 'accuracy under attack vs eps, per attack and mode'),
              ('robust_vs_size.png', 'worst-attack accuracy vs parameter count at the '
               'headline eps, per train mode'),
              ('robust_vs_flops.png', 'the same against forward FLOPs per image'),
              ('clean_vs_size.png', 'clean test accuracy vs parameter count')]
    per_image = per_image_data.load(workdir, rows)
    drawn = min_eps_figures.plot_min_eps_distributions(
        rows, per_image, workdir / 'min_eps_distributions.png')
    if not drawn:  # A figure of an earlier run would no longer match the report.
      (workdir / 'min_eps_distributions.png').unlink(missing_ok=True)
    files.append(('min_eps_distributions.png',
                  f'ECDF of the per-image minimal fooling radius (L-inf ensemble), per '
                  f'size, from {len(per_image)} cells\' {per_image_data.FILE_NAME}'
                  if drawn else f'not drawn: no finished cell has a '
                  f'{per_image_data.FILE_NAME} (cells finished before it was written)'))
    curves = workdir / training_figures.FILE_NAME
    if not training_figures.plot_validation_curves(workdir, rows, curves):
      curves.unlink(missing_ok=True)
    files.append((training_figures.FILE_NAME,
                  'validation score against optimiser step, per model and seed, from the '
                  'cells\' metrics.jsonl' if curves.exists() else
                  'not drawn: no finished cell has a metrics.jsonl with validation scores'))
    cells = example_figures.representative_cells(rows)
    written = {path.name for path in example_figures.write_example_figures(workdir, cells)}
    for name in {example_figures.GALLERY_FILE, example_figures.SALIENCY_FILE} - written:
      (workdir / name).unlink(missing_ok=True)
    for name, what in (('adversarial_gallery.png', 'clean / perturbation / adversarial '
                        'images with predictions (PGD, untargeted), smallest and largest '
                        'model per train mode'),
                       ('saliency_maps.png', 'gradient saliency |d logit_true / d x| of '
                        'the same images and models')):
      files.append((name, what if name in written else
                    f'not drawn: none of {", ".join(cells)} has an examples.npz'))
  claim_summary.write_csv(claim_summary.claim_rows(rows, per_image, margins),
                          workdir / claim_summary.FILE_NAME)
  files.append((claim_summary.FILE_NAME, 'the claims\' verdicts and Spearman rho with '
                'intervals per train mode, view (headline, matched set, smallest fooling '
                'radius) and eps, as the report states them'))
  atomic_files.write_text(workdir / 'report.md', report.render_report(
      rows, files, provenance.load(workdir, rows), per_image, margins,
      audit_table.load(workdir, rows)))
