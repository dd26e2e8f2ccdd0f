"""Writes every study artefact from the results rows."""

import pathlib

from medadv_jax import atomic_files, cell_data
from medadv_jax.reporting import report
from medadv_jax.reporting.claims import analysis, claim_summary
from medadv_jax.reporting.figures import (boundary_figure, example_figures, min_eps_figures,
                                          plotting, size_figures, training_figures)
from medadv_jax.reporting.inputs import audits, coverage, per_image_data, provenance
from medadv_jax.reporting.tables import results_table, summary_table


def write_all(rows, workdir: pathlib.Path, plan, cells_dir: pathlib.Path = None,
              per_image: dict = None, audit_records: list = None) -> None:
  """Tables, figures and report.md in `workdir`, each listed at the end of the report.

  results.csv / .json, summary.csv and claims.csv always (header only without
  rows); the figures when there are rows; min_eps_distributions.png only when some cell has
  a per_image.json, and the gallery and saliency maps only when the cells they
  show have an examples.npz (cells finished before these existed have none).
  The claims are analysed once under `plan` (`claims.plan.Plan`), for report.md
  and claims.csv. `cells_dir`: the folder holding cells/ (default `workdir`), so a
  re-analysis can write elsewhere; `per_image`: the cells' per_image.json data
  when they come from elsewhere (default: read from `cells_dir`); `audit_records`:
  likewise, the cells' audit.json records (`inputs.audits`).
  """
  workdir = pathlib.Path(workdir)
  cells_dir = workdir if cells_dir is None else pathlib.Path(cells_dir)
  results_table.write_csv(rows, workdir / 'results.csv')
  results_table.write_json(rows, workdir / 'results.json')
  summary_table.write_csv(summary_table.summarise(rows), workdir / 'summary.csv')
  files = [('results.csv', 'every cell x attack x eps row (also results.json)'),
           ('summary.csv', 'accuracy mean ± std over seeds per size x train mode x '
            'attack x eps, with params, FLOPs and clean test accuracy')]
  given, per_image = per_image, {}
  if rows:
    plotting.plot_robustness_curves(rows, workdir / 'robustness_curves.png')
    size_figures.plot_robust_vs_size(rows, workdir / 'robust_vs_size.png', 'params')
    size_figures.plot_robust_vs_size(rows, workdir / 'robust_vs_flops.png', 'flops')
    size_figures.plot_clean_vs_size(rows, workdir / 'clean_vs_size.png')
    files += [('robustness_curves.png', 'accuracy under attack vs eps, per attack and mode'),
              ('robust_vs_size.png', 'worst-attack accuracy vs parameter count at the '
               'headline eps, per train mode'),
              ('robust_vs_flops.png', 'the same against forward FLOPs per image'),
              ('clean_vs_size.png', 'clean test accuracy vs parameter count')]
    per_image = given if given is not None else per_image_data.load(cells_dir, rows)
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
    if not training_figures.plot_validation_curves(cells_dir, rows, curves):
      curves.unlink(missing_ok=True)
    files.append((training_figures.FILE_NAME,
                  'validation score against optimiser step, per model and seed, from the '
                  'cells\' metrics.jsonl' if curves.exists() else
                  'not drawn: no finished cell has a metrics.jsonl with validation scores'))
    cells = example_figures.representative_cells(rows)
    written = {path.name for path in example_figures.write_example_figures(
        cells_dir, cells, workdir)}
    for name in {example_figures.GALLERY_FILE, example_figures.SALIENCY_FILE} - written:
      (workdir / name).unlink(missing_ok=True)
    for name, what in (('adversarial_gallery.png', 'clean / perturbation / adversarial '
                        'images with predictions (PGD, untargeted), smallest and largest '
                        'model per train mode'),
                       ('saliency_maps.png', 'gradient saliency |d logit_true / d x| of '
                        'the same images and models')):
      files.append((name, what if name in written else
                    f'not drawn: none of {", ".join(cells)} has an examples.npz'))
    drawn = boundary_figure.write_boundary_figure(cells_dir, cells, workdir)
    if drawn is None:  # A figure of an earlier run would no longer match the report.
      (workdir / boundary_figure.FILE_NAME).unlink(missing_ok=True)
    files.append((boundary_figure.FILE_NAME, 't-SNE of penultimate features of clean and '
                  'PGD-attacked test images, smallest and largest model per train mode'
                  if drawn else f'not drawn: none of {", ".join(cells)} has an '
                  f'{cell_data.EMBEDDING_FILE}'))
  if audit_records is None:
    audit_records = audits.load(cells_dir, rows)
  answer = analysis.analyse(rows, per_image, plan, audit_records)
  claim_summary.write_csv(claim_summary.claim_rows(rows, answer),
                          workdir / claim_summary.FILE_NAME)
  files.append((claim_summary.FILE_NAME, f'the claims under plan {plan.name!r}: estimates, '
                '95 % intervals, p-values and verdicts, as the report states them'))
  atomic_files.write_text(workdir / 'report.md', report.render_report(
      rows, files, provenance.load(cells_dir, rows), per_image, answer,
      coverage.load(cells_dir, rows)))
