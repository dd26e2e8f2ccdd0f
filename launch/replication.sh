#!/usr/bin/env bash
# Runs, or resumes, the replication: 3 datasets x 2 model families
# (configs/replication.py), each with the project's launcher; publishes every
# finished study to docs/replication/<dataset>_<family>/ and rebuilds the
# cross-study CSV, figure and the README's results table.
#
#   MEDMNIST_DIR=../shared/medmnist bash launch/replication.sh [dataset_family ...]
#
# With no arguments: all six, widths first. Kill it at any time; started again,
# it skips finished cells and studies (a study may span several sittings).
# RUNS (default runs/replication) holds the workdirs; WORKERS (default 2) the
# cells run at once.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-runs/replication}
WORKERS=${WORKERS:-2}
STUDIES=("$@")
if [ ${#STUDIES[@]} -eq 0 ]; then
  STUDIES=(pneumonia_width breast_width retina_width pneumonia_depth breast_depth retina_depth)
fi
for study in "${STUDIES[@]}"; do
  dataset=${study%_*}
  family=${study##*_}
  config="configs/replication.py:dataset=${dataset},family=${family}"
  python launch/local_sweep.py --config="$config" --workdir="$RUNS/$study" --workers="$WORKERS"
  python launch/publish_study.py --config="$config" --workdir="$RUNS/$study" \
    --dest="docs/replication/$study"
done
python launch/cross_study.py --studies='docs/replication/*' --out=docs/replication \
  --readme=README.md --compute_readme=docs/replication/README.md
