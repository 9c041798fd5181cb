#!/usr/bin/env bash
# Accuracy table for BENCHMARKS.md: `python -m textclf compare` with default settings (10 epochs, patience 3,
# batch 64, 8 buckets, max_len 256, split 80/10/10 with split seed 0), seed 0, one torch thread.
#
#   bench/accuracy.sh [DATASET ...]        default: mr sms_spam waimai_10k
#   BATCHING=bucket bench/accuracy.sh waimai_10k     (to skip the slow max_length runs)
#
# Writes bench/results/DATASET.json and .log, then prints `python -m textclf report` of each.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=../shared/datasets
if [ ! -d "$DATA" ]; then
  echo "error: $DATA not found: the shared public data sets must sit in shared/datasets beside the repo." >&2
  exit 1
fi
BATCHING=${BATCHING:-max_length,bucket}
OUT=bench/results
mkdir -p "$OUT"
[ $# -gt 0 ] || set -- mr sms_spam waimai_10k
for name in "$@"; do
  cmd=(python -m textclf compare "$DATA/$name.csv" --models cnn,rnn,svm,knn --batching "$BATCHING"
       --epochs 10 --seeds 0 --threads 1 --no-store --out "$OUT/$name.json")
  echo "\$ ${cmd[*]}" | tee "$OUT/$name.log"
  "${cmd[@]}" 2>&1 | tee -a "$OUT/$name.log"
done
for name in "$@"; do
  python -m textclf report "$OUT/$name.json"
done
