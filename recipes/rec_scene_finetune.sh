#!/usr/bin/env bash
# Scene-text fine-tune of a bundled recogniser: real camera word crops (ic15_train's training part, all of
# iiit5k_train) beside the document data it was trained on, so forms and receipts keep their accuracy.
# Validation: ic15_train's held-out part (recipes/prepare_scene_crops.py; never trained on). ic13 and ic03
# stay untouched for the card.
# SROIE_CASE=any (the default) teaches SROIE's letters, not their case (it writes receipts in capitals);
# SROIE_CASE=exact teaches its capitals as transcribed. Options after STEPS override the defaults (last wins).
# Usage: [SROIE_CASE=exact] recipes/rec_scene_finetune.sh OUT MINUTES STEPS [extra textlens train rec options]
#   e.g. OMP_NUM_THREADS=1 recipes/rec_scene_finetune.sh runs/crnn_scene 120 10000
set -euo pipefail
out=$1 minutes=$2 steps=$3; shift 3
data=${DATA:-../shared/data}
crops=${CROPS:-runs/real-crops}
scene=${SCENE:-runs/scene-crops}
[ -f "$crops/funsd_train_lines_train/manifest.jsonl" ] || python recipes/prepare_real_crops.py --data "$data" --out "$crops"
[ -f "$scene/ic15_train_heldout/manifest.jsonl" ] || python recipes/prepare_scene_crops.py --data "$data" --out "$scene"
sroie_case=""
[ "${SROIE_CASE:-any}" = any ] && sroie_case=",case=any"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
exec python -m textlens train rec --arch crnn_fast --finetune crnn_fast --batch 32 --lr 5e-4 --steps "$steps" \
  --max-minutes "$minutes" --precision auto --workers 1 --ema --val-every 1000 --no-progress --name crnn_fast \
  --data synth:preset=mixed,fonts=all,weight=0.35 \
  --data "manifest:$scene/ic15_train_train/manifest.jsonl,weight=0.2" \
  --data "manifest:$scene/iiit5k_train/manifest.jsonl,weight=0.1" \
  --data "manifest:$crops/funsd_train_train/manifest.jsonl,weight=0.12" \
  --data "manifest:$crops/funsd_train_lines_train/manifest.jsonl,weight=0.08" \
  --data "manifest:$crops/sroie_dev_train/manifest.jsonl,weight=0.15$sroie_case" \
  --val "manifest:$scene/ic15_train_heldout/manifest.jsonl" \
  --out "$out" "$@"
