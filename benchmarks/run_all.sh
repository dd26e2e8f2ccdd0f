#!/usr/bin/env bash
# Runs every benchmark in turn, each printing its table and writing its JSON.
#   benchmarks/run_all.sh          full sizes -> benchmarks/results/*.json (hours on a
#                                  2-core CPU; run it with the machine otherwise idle)
#   benchmarks/run_all.sh quick    tiny sizes, a few minutes -> benchmarks/results/quick/
# MedMNIST files: $MEDMNIST_DIR, else ../shared/medmnist.
set -euo pipefail
cd "$(dirname "$0")/.."
export MEDMNIST_DIR="${MEDMNIST_DIR:-$(cd .. && pwd)/shared/medmnist}"

if [[ "${1:-}" == quick ]]; then
  out=benchmarks/results/quick
  python benchmarks/machine_peak.py --matmul_size=1024 --out="$out/machine_peak.json"
  python benchmarks/attack_throughput.py --widths=0.25,1 --images=128 --steps=5 \
    --matmul_size=1024 --out="$out/attack_throughput.json"
  python benchmarks/train_throughput.py --widths=0.25,1 --steps=5 --reps=2 \
    --out="$out/train_throughput.json"
  python benchmarks/robustness_curve.py --images=64 --steps=5 --eps_255=0,0.5,1,2,4,8 \
    --train_limit=1024 --width=0.25 --out="$out/robustness_curve.json"
  python benchmarks/study_end_to_end.py --smoke --out="$out/study_end_to_end.json"
  python benchmarks/schedule_agreement.py --widths=0.25 --epochs=1 --train_limit=1024 \
    --out="$out/schedule_agreement.json"
  python benchmarks/seed_groups.py --widths=0.25 --steps=8 --seeds=0,1 --train_limit=256 \
    --out="$out/seed_groups.json"
elif [[ $# -eq 0 ]]; then
  python benchmarks/machine_peak.py
  python benchmarks/attack_throughput.py
  python benchmarks/train_throughput.py
  python benchmarks/robustness_curve.py
  python benchmarks/study_end_to_end.py
  python benchmarks/schedule_agreement.py
else
  echo "usage: $0 [quick]" >&2
  exit 2
fi
