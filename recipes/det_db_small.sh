#!/usr/bin/env bash
# Train db_small, the default word detector: synthetic pages (all kinds) + FUNSD training pages 0-128,
# validated on FUNSD pages 129-148 (the last 20, held out). SROIE is not used: its boxes are whole text
# lines and db_small detects words (docs/detection.md, "Granularity").
#
# usage: recipes/det_db_small.sh [OUT] [MINUTES]
#   DATA=../shared/data (where funsd_train/ lives)   STEPS, BATCH, WORKERS override the defaults below.
# On a GPU (auto-detected) it uses a bigger batch and every core but one for page rendering; on CPU a
# small batch. --max-minutes stops gracefully (checkpoint + export) when the wall-clock budget is spent;
# run again with --resume to continue from OUT/last.ckpt.
set -euo pipefail
OUT=${1:-runs/db_small}
MINUTES=${2:-10}
DATA=${DATA:-../shared/data}
FUNSD="$DATA/funsd_train/manifest.jsonl"
PY=${PYTHON:-python}

if "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  BATCH=${BATCH:-32}; WORKERS=${WORKERS:-$(( $(nproc) - 1 ))}; STEPS=${STEPS:-3000}
else
  BATCH=${BATCH:-4}; WORKERS=${WORKERS:-1}; STEPS=${STEPS:-2000}
fi

"$PY" -m textlens train det \
  --arch db_small \
  --data synth-pages:kind=mixed,crops=2,weight=1 \
  --data "manifest:$FUNSD,start=0,stop=129,weight=1" \
  --val "manifest:$FUNSD,start=129" \
  --steps "$STEPS" --batch "$BATCH" --size 640 --long-side 1024 --lr 3e-3 \
  --workers "$WORKERS" --val-every $(( STEPS / 5 )) --max-minutes "$MINUTES" \
  --device auto --precision auto --out "$OUT" --name db_small
