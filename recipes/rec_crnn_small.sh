#!/usr/bin/env bash
# Trains crnn_small (CTC, gray 32-px crops, latin charset); its bundle was dropped on 2026-12-07, the recipe stays.
#
# Data: on-the-fly synthetic lines (textlens.data.synth, preset "mixed", train font split) plus the
# FUNSD train split's word crops when ../shared/data is present. SROIE dev line crops are opt-in
# (USE_SROIE=1) because that set is also a pipeline evaluation set. ICDAR13 is for validation only:
# never train on ic13 or ic03.
#
# Runs on CPU and on a GPU box (detected): on a GPU the batch is bigger and every spare core renders
# synthetic data. Override with env vars: OUT, STEPS, BATCH, WORKERS, DATA, LR, EXTRA_ARGS (e.g. "--resume").
#   recipes/rec_crnn_small.sh                    # train from scratch into runs/crnn_small
#   EXTRA_ARGS=--resume recipes/rec_crnn_small.sh
# Afterwards: runs/crnn_small/export/{config.json,model.safetensors} → ONNX export → textlens/models/weights/.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3
DATA=${DATA:-../shared/data}
OUT=${OUT:-runs/crnn_small}

if "$PYTHON" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  BATCH=${BATCH:-256}
  WORKERS=${WORKERS:-$(( $(nproc) > 2 ? $(nproc) - 2 : 1 ))}  # synthetic rendering is CPU-bound: use the cores
  STEPS=${STEPS:-60000}
  VAL_EVERY=${VAL_EVERY:-2000}
else
  BATCH=${BATCH:-64}
  WORKERS=${WORKERS:-1}
  STEPS=${STEPS:-20000}
  VAL_EVERY=${VAL_EVERY:-1000}
fi
LR=${LR:-2e-3}

SOURCES=(--data "synth:preset=mixed,fonts=train,weight=0.8")
if [ -f "$DATA/funsd_train/manifest.jsonl" ]; then
  SOURCES+=(--data "manifest:$DATA/funsd_train/manifest.jsonl,crops=words,weight=0.2")
fi
if [ "${USE_SROIE:-0}" = 1 ] && [ -f "$DATA/sroie_dev/manifest.jsonl" ]; then
  SOURCES+=(--data "manifest:$DATA/sroie_dev/manifest.jsonl,crops=words,weight=0.1")  # its boxes are lines
fi
VAL=()
if [ -f "$DATA/ic13/manifest.jsonl" ]; then
  VAL+=(--val "manifest:$DATA/ic13/manifest.jsonl")
fi

# shellcheck disable=SC2086  # EXTRA_ARGS is a list of options
exec "$PYTHON" -m textlens.cli.train rec \
  --arch crnn_small --height 32 --charset latin \
  "${SOURCES[@]}" "${VAL[@]}" \
  --steps "$STEPS" --batch "$BATCH" --lr "$LR" --workers "$WORKERS" \
  --val-every "$VAL_EVERY" --patience 10 --ema --device auto --precision auto \
  --out "$OUT" --name crnn_small ${EXTRA_ARGS:-}
