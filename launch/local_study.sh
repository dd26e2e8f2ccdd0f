#!/usr/bin/env bash
# Runs one study on this machine, appending to WORKDIR/main.log.
# Safe to start again after a kill: finished cells are skipped, training resumes.
#   launch/local_study.sh configs/default.py runs/default [--config.a.b=v ...]
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 CONFIG[:arg] WORKDIR [--config.field=value ...]" >&2
  exit 2
fi
config=$1 workdir=$2
shift 2
mkdir -p "$workdir"
python "$(dirname "$0")/../main.py" --config="$config" --workdir="$workdir" --alsologtostderr "$@" \
  2>&1 | tee -a "$workdir/main.log"
