#!/usr/bin/env bash
# Runs, or resumes, the replication: the seven studies of configs/replication.py
# (3 datasets x 2 model families at 28 px, and BreastMNIST's width family at
# 64 px), each with the project's launcher; publishes every finished study to
# docs/replication/<dataset>_<family>/ and rebuilds the cross-study CSV, figure
# and the README's results table; then the plan's secondary family (the ResNets-only
# re-analyses of the depth studies and the resolution arm's contrast).
#
#   MEDMNIST_DIR=../shared/medmnist bash launch/replication.sh [dataset_family ...]
#   bash launch/replication.sh --list     # prints the seven studies, runs nothing
#
# With no arguments: all seven, in configs/replication.py's order (widths
# first). Kill it at any time; started again, it skips finished cells and
# studies (a study may span several sittings). RUNS (default runs/replication)
# holds the workdirs; WORKERS (default 2) the cells run at once.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-runs/replication}
WORKERS=${WORKERS:-2}
STUDIES=("$@")
if [ ${#STUDIES[@]} -eq 0 ] || [ "${STUDIES[0]}" = --list ]; then
  read -r -a ALL <<< "$(python -c 'from configs import replication; print(*replication.STUDIES)')"
  if [ ${#STUDIES[@]} -gt 0 ]; then
    printf '%s\n' "${ALL[@]}"
    exit 0
  fi
  STUDIES=("${ALL[@]}")
fi
for study in "${STUDIES[@]}"; do
  dataset=${study%_*}
  family=${study##*_}
  config="configs/replication.py:dataset=${dataset},family=${family}"
  python launch/local_sweep.py --config="$config" --workdir="$RUNS/$study" --workers="$WORKERS"
  python launch/publish_study.py --config="$config" --workdir="$RUNS/$study" \
    --dest="docs/replication/$study"
done
# The plan's secondary family (docs/replication/PLAN.md, "Multiplicity"): claim (a)
# within the ResNets of each depth study published here (its cells.json.gz), answered
# beside it under the plan 'resnets' (publish_study.py replaces a folder and its
# answers, so an answer found is this publication's and is kept), then, once the three
# and the resolution arm's two studies are published, Holm over the 4 tests.
secondary=()
waiting=()
for study in pneumonia_depth breast_depth retina_depth; do
  folder="docs/replication/$study"
  if [ ! -f "$folder/cells.json.gz" ]; then
    waiting+=("$study")
    continue
  fi
  if [ ! -f "$folder/analyses/resnets/report.md" ]; then  # Written last.
    python launch/reanalyse.py --config="configs/replication.py:dataset=${study%_*},family=depth" \
      --workdir="$folder" --config.analysis.name=resnets \
      --config.analysis.models="('resnet8','resnet20','resnet32','resnet50')"
  fi
  secondary+=("$folder/analyses/resnets")
done
for study in breast64_width breast_width; do
  [ -f "docs/replication/$study/cells.json.gz" ] || waiting+=("$study")
done
family=()
if [ ${#waiting[@]} -eq 0 ]; then
  family=(--contrasts=breast64_width:breast_width
          "--secondary=$(IFS=,; echo "${secondary[*]}")"
          --secondary_readme=docs/replication/README.md)
else
  echo "secondary family (PLAN.md): not computed until ${waiting[*]} are published"
fi
python launch/cross_study.py --studies='docs/replication/*' --out=docs/replication \
  --readme=README.md --compute_readme=docs/replication/README.md ${family[@]+"${family[@]}"}
