#!/usr/bin/env bash
# The bundled digit classifiers: digits_cnn (MNIST) and digits_deva (Devanagari numerals), trained on the shared
# 2-core CPU at low priority beside other runs (one thread, nice 15), then bundled with their measured numbers.
# Usage: recipes/digits_cnn.sh [DATA]   (DATA: the folder holding mnist/ and devanagari_digits/, ../shared/data)
# The validation split of MNIST is the last 5,000 training images (as for the glimpse models); the Devanagari
# held-out part is 20 % of the images chosen by SHA-1 of their paths (textlens.train.digits_data.held_out).
set -euo pipefail
data=${1:-../shared/data}
export OMP_NUM_THREADS=1
nice -n 15 python -m textlens digits train --data "$data/mnist" --steps 12000 --batch 128 --lr 3e-3 \
  --val-every 1000 --max-minutes 45 --fit-schedule --seed 0 --out runs/digits_cnn --name digits_cnn --no-progress
nice -n 15 python -m textlens digits train --source manifest --data "$data/devanagari_digits/manifest.jsonl" \
  --holdout-percent 20 --steps 1500 --batch 64 --lr 3e-3 --val-every 250 --max-minutes 20 --fit-schedule \
  --seed 0 --out runs/digits_deva --name digits_deva --no-progress
# A second MNIST run, exporting the last step's weights (chosen by nothing; reported in the card, not bundled):
#   nice -n 15 python -m textlens digits train --data "$data/mnist" --steps 12000 --batch 128 --lr 3e-3 \
#     --val-every 1000 --max-minutes 40 --fit-schedule --weights final --seed 1 --out runs/digits_cnn_s1 \
#     --name digits_cnn --no-progress
# Bundle: the export folder as it is (config.json with the measured validation numbers, fp16 safetensors, ONNX);
# MODEL.md is written by hand from summary.json and the checks in docs/handwriting.md.
for name in digits_cnn digits_deva; do
  mkdir -p "textlens/models/weights/$name"
  cp "runs/$name/export/config.json" "runs/$name/export/model.onnx" "runs/$name/export/model.safetensors" \
    "textlens/models/weights/$name/"
done
python recipes/digits_reexport.py runs/digits_cnn/export  # ONNX from the fp16 weights (the trainer now does it too)
python recipes/digits_reexport.py runs/digits_deva/export
python recipes/digits_measure.py runs/digits_cnn/export mnist "$data/mnist"
python recipes/digits_measure.py runs/digits_deva/export manifest "$data/devanagari_digits/manifest.jsonl" 20
python recipes/digits_manifests.py "$data"   # runs/mnist_val and runs/deva_heldout label manifests
# The numbers beside the glimpse models, on the same 5,000 validation images as a label manifest:
#   textlens eval digits --manifest runs/mnist_val/manifest.jsonl --model digits_cnn --json
#   textlens eval digits --manifest runs/mnist_val/manifest.jsonl --model ram_mnist --json
#   textlens eval digits --manifest runs/deva_heldout/manifest.jsonl --model digits_deva --json
