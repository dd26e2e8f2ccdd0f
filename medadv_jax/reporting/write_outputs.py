"""Writes every study artefact from the results rows."""

import pathlib

from medadv_jax import atomic_files
from medadv_jax.reporting import figures, report, results_table


def write_all(rows, workdir: pathlib.Path) -> None:
  """results.csv, results.json, robustness_curves.png and report.md in `workdir`."""
  results_table.write_csv(rows, workdir / 'results.csv')
  results_table.write_json(rows, workdir / 'results.json')
  if rows:
    figures.plot_robustness_curves(rows, workdir / 'robustness_curves.png')
  atomic_files.write_text(workdir / 'report.md', report.render_report(rows))
