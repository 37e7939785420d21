#!/usr/bin/env bash
# Measure a recogniser for its model card: ic13 (1015), ic03 (860), the held-out FUNSD word crops and SROIE line
# crops made by recipes/prepare_real_crops.py (pages never trained on), ic15_train's held-out crops
# (recipes/prepare_scene_crops.py) and the accented lines of 16 languages (recipes/prepare_accented_lines.py).
# Usage: recipes/eval_recognizer.sh MODEL_NAME_OR_FOLDER [DATA=../shared/data] [CROPS=runs/real-crops]
set -euo pipefail
model=$1 data=${2:-../shared/data} crops=${3:-runs/real-crops}
for set in "ic13:$data/ic13/manifest_1015.jsonl" "ic03:$data/ic03/manifest.jsonl" \
           "funsd_heldout_words:$crops/funsd_train_heldout/manifest.jsonl" \
           "sroie_heldout_lines:$crops/sroie_dev_heldout/manifest.jsonl" \
           "ic15_heldout:${SCENE:-runs/scene-crops}/ic15_train_heldout/manifest.jsonl" \
           "accented_lines:${ACCENTED:-runs/accented-lines}/manifest.jsonl"; do
  name=${set%%:*} manifest=${set#*:}
  [ -f "$manifest" ] || { echo "{\"set\": \"$name\", \"skipped\": \"$manifest missing\"}"; continue; }
  printf '{"set": "%s", "result": %s}\n' "$name" \
    "$(OMP_NUM_THREADS=1 python -m textlens eval rec --manifest "$manifest" --model "$model" --threads 1 --json)"
done
