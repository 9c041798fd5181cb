#!/usr/bin/env bash
# Issue 11: TextCNN with rand / static / non-static / multichannel embeddings (vectors: word2vec trained on the
# training split) on MR, 3 seeds, bucketed batching, one torch thread. Sized for a shared 2-core machine:
# 128-dimensional embeddings (the dashboard's default) and at most 4 epochs (patience 2); CLI defaults otherwise,
# except the narrow convolution (wide=false) and Adam's learning rate 0.002 these figures were measured with, before
# the wide convolution and 0.001 became the defaults.
#
#   nice -n 10 bench/embeddings_mr.sh
#
# Writes bench/results/embeddings_mr.json and .log; prints mean ± sd per mode.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=../shared/datasets
OUT=bench/results
mkdir -p "$OUT"
cmd=(python -m textclf compare "$DATA/mr.csv"
     --models cnn:embed_dim=128:wide=false,cnn:embed_dim=128:wide=false:embedding=static,cnn:embed_dim=128:wide=false:embedding=non-static,cnn:embed_dim=128:wide=false:embedding=multichannel
     --batching bucket --seeds 0,1,2 --epochs 4 --patience 2 --lr 0.002 --threads 1 --backend sequential --no-store --out "$OUT/embeddings_mr.json")
echo "\$ ${cmd[*]}" | tee "$OUT/embeddings_mr.log"
OMP_NUM_THREADS=1 "${cmd[@]}" 2>&1 | tee -a "$OUT/embeddings_mr.log"
PYTHONPATH=. python bench/summary.py "$OUT/embeddings_mr.json" | tee -a "$OUT/embeddings_mr.log"
