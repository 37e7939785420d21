#!/usr/bin/env bash
# A CTC recogniser of handwritten digit strings (amounts, dates, phone numbers, codes) trained on strings
# composed from MNIST training digits (textlens digits strings), validated on strings composed from the MNIST
# validation digits (the last 5,000 training images: other writers' digits, never trained on).
# Usage: [COUNT=40000] [VAL_COUNT=1000] recipes/rec_digit_strings.sh OUT MINUTES STEPS [DATA] [extra train rec options]
#   DATA: the MNIST folder (default ../shared/data/mnist). Options after DATA go to textlens train rec.
set -euo pipefail
out=$1 minutes=$2 steps=$3; shift 3
data=${1:-../shared/data/mnist}; [ $# -gt 0 ] && shift
strings=${STRINGS:-runs/digit_strings}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
[ -f "$strings/train/manifest.jsonl" ] || python -m textlens digits strings --data "$data" --split train \
  --count "${COUNT:-40000}" --seed 0 --out "$strings/train"
[ -f "$strings/val/manifest.jsonl" ] || python -m textlens digits strings --data "$data" --split val \
  --count "${VAL_COUNT:-1000}" --seed 1 --out "$strings/val"
exec python -m textlens train rec --arch crnn_small --charset "0123456789/-., " --height 32 --channels 1 \
  --data "manifest:$strings/train/manifest.jsonl" --val "manifest:$strings/val/manifest.jsonl" \
  --batch 32 --lr 1.5e-3 --steps "$steps" --max-minutes "$minutes" --workers 1 --val-every 1000 --no-progress \
  --name crnn_digit_strings --out "$out" "$@"
