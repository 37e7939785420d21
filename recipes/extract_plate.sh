#!/usr/bin/env bash
# Licence plates (docs/extraction.md, Plates): the synthetic plate data, the plate recogniser's fine-tune and the
# held-out scores. Plates are drawn by textlens/data/synth/plate.py in the condensed DIN-like Debian faces of
# PLATE_FACES (two of them, HELDOUT_FACES, never in training crops) on wallpaper crops (make scene-deps).
#   1. training crops: 2 × 3000 recogniser crops (seeds 1001, 1002; 2 crops per scene), validation 300 (seed 1003)
#   2. fine-tune crnn_fast on them: 1 thread at nice 15, at most 20 minutes, EMA, validation every 250 steps
#   3. the pack: textlens export bundle → textlens/models/weights/_extract/plate_rec (ONNX, fp16 safetensors)
#   4. the held-out scenes (seed 38000, 300 images, every face) and their scores, with the time over `read`
# Usage: recipes/extract_plate.sh [OUT]   (OUT: runs/plates)
set -euo pipefail
out=${1:-runs/plates}
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE TEXTLENS_THREADS=1
mkdir -p "$out"
for seed in 1001 1002; do
  [ -f "$out/crops-$seed/manifest.jsonl" ] || nice -n 15 python recipes/plate_data.py crops "$out/crops-$seed" 3000 "$seed"
done
[ -f "$out/crops-val/manifest.jsonl" ] || nice -n 15 python recipes/plate_data.py crops "$out/crops-val" 300 1003
/usr/bin/time -v nice -n 15 python -m textlens train rec --arch crnn_fast --finetune crnn_fast --batch 32 \
  --lr 5e-4 --steps 100000 --max-minutes 20 --fit-schedule --precision auto --workers 0 --ema --val-every 250 \
  --no-progress --name plate_rec \
  --data "manifest:$out/crops-1001/manifest.jsonl,weight=0.5" \
  --data "manifest:$out/crops-1002/manifest.jsonl,weight=0.5" \
  --val "manifest:$out/crops-val/manifest.jsonl" \
  --out "$out/rec" 2> "$out/rec-time.txt"
python -m textlens export bundle --checkpoint "$out/rec/export" -o textlens/models/weights/_extract/plate_rec \
  --name plate_rec
[ -f "$out/heldout/manifest.jsonl" ] || nice -n 15 python recipes/plate_data.py scenes "$out/heldout" 300 38000
nice -n 15 python -m textlens eval extract --task plate --manifest "$out/heldout/manifest.jsonl" --json \
  --threads 1 --errors "$out/heldout-misses.jsonl" | tee "$out/heldout-scores.json"
python recipes/plate_data.py sheet "$out/heldout/manifest.jsonl" docs/extraction-plates.png
