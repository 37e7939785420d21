#!/usr/bin/env bash
# Measure a detector for its model card through the whole page pipeline (default recogniser, one thread): the
# held-out FUNSD pages 129-148 at word level and the held-out SROIE receipts 120-149 at line level, the pages
# no detector recipe trains on. Prints one JSON line per set (keys of `textlens eval page --json`).
# Usage: recipes/eval_detector.sh DETECTOR_NAME_OR_FOLDER [DATA=../shared/data] [extra textlens eval page options]
set -euo pipefail
detector=$1 data=${2:-../shared/data}; shift $(( $# < 2 ? $# : 2 ))
for set in "funsd_heldout:word:129:$data/funsd_train/manifest.jsonl" \
           "sroie_heldout:line:120:$data/sroie_dev/manifest.jsonl"; do
  IFS=: read -r name level start manifest <<< "$set"
  [ -f "$manifest" ] || { echo "{\"set\": \"$name\", \"skipped\": \"$manifest missing\"}"; continue; }
  printf '{"set": "%s", "result": %s}\n' "$name" "$(OMP_NUM_THREADS=1 python -m textlens eval page \
    --manifest "$manifest" --start "$start" --level "$level" --detector "$detector" --threads 1 --json "$@")"
done
