#!/usr/bin/env bash
# One recogniser training programme for scene text (#35) and clean print + Latin languages (#36): the default
# recogniser learns the extended Latin charset (latin_ext) from synthetic lines of 16 languages (Debian word
# lists; make lang-deps), born-digital print lines (preset=print), English synthetic crops of every domain, real
# camera words (ic15_train's training part, iiit5k_train) and the real document crops it already read.
# Validation: ic15_train's held-out part (recipes/prepare_scene_crops.py; never trained on). ic13, ic03, FUNSD
# and SROIE held-out parts stay untouched for the card. Options after MINUTES override the defaults (last wins).
# Usage: recipes/rec_latin_ext.sh OUT MINUTES [extra textlens train rec options]
#   e.g. OMP_NUM_THREADS=1 recipes/rec_latin_ext.sh runs/crnn_latin_ext 110 --finetune crnn_fast
set -euo pipefail
out=$1 minutes=$2; shift 2
data=${DATA:-../shared/data}
crops=${CROPS:-runs/real-crops}
scene=${SCENE:-runs/scene-crops}
langs=en+fr+de+es+it+pt+nl+pl+cs+sk+hu+ro+tr+sv+da+nb
[ -f "$crops/funsd_train_lines_train/manifest.jsonl" ] || python recipes/prepare_real_crops.py --data "$data" --out "$crops"
[ -f "$scene/ic15_train_heldout/manifest.jsonl" ] || python recipes/prepare_scene_crops.py --data "$data" --out "$scene"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
exec python -m textlens train rec --arch crnn_fast --finetune crnn_fast --charset latin_ext --batch 32 --lr 5e-4 \
  --steps 1000000 --max-minutes "$minutes" --fit-schedule --precision auto --workers 1 --ema --val-every 1000 \
  --no-progress --name crnn_fast \
  --data synth:preset=mixed,fonts=train,weight=0.22 \
  --data "synth:preset=mixed,fonts=train,langs=$langs,weight=0.28" \
  --data "synth:preset=print,fonts=train,langs=$langs,weight=0.12" \
  --data "manifest:$scene/ic15_train_train/manifest.jsonl,weight=0.12" \
  --data "manifest:$scene/iiit5k_train/manifest.jsonl,weight=0.06" \
  --data "manifest:$crops/funsd_train_train/manifest.jsonl,weight=0.08" \
  --data "manifest:$crops/funsd_train_lines_train/manifest.jsonl,weight=0.05" \
  --data "manifest:$crops/sroie_dev_train/manifest.jsonl,weight=0.1" \
  --val "manifest:$scene/ic15_train_heldout/manifest.jsonl" \
  --out "$out" "$@"
