#!/usr/bin/env bash
# The receipt extractor bundled as textlens/models/weights/_extract/receipt_kie (docs/extraction.md).
# Data: the SROIE dev receipts 000-149 with their key labels (research-only; nothing of them is committed but
# the trained parameters). Train on records 0-119, validate on 120-149 (the part the recognition and detection
# cards also hold out). One CPU thread; the OCR of the receipts is cached under runs/ so retraining takes seconds.
set -euo pipefail
MANIFEST=${MANIFEST:-../shared/data/sroie_dev/manifest.jsonl}
CACHE=${CACHE:-runs/extract_receipt/ocr}
export OMP_NUM_THREADS=1

# 1. Read every receipt once with textlens's own OCR (about 0.6 s a receipt on one thread) and cache it.
.venv/bin/python recipes/extract_receipt_cache.py --manifest "$MANIFEST" --out "$CACHE"

# 2. Train (numpy, ~5 s) and write the bundle; prints train and validation scores on the cached OCR.
.venv/bin/textlens extract train --task receipt --manifest "$MANIFEST" --cache "$CACHE" \
    --train 0:120 --val 120:150 --l2 0.03 --steps 300 \
    --out textlens/models/weights/_extract/receipt_kie

# 3. The validation scores from the images themselves (OCR run again, timed).
.venv/bin/textlens eval extract --task receipt --manifest "$MANIFEST" --start 120 --threads 1 --json

# 4. The picture of docs/extraction.md (synthetic receipt only).
.venv/bin/python recipes/extract_receipt_picture.py --seed 3 --out docs/extraction-receipt.png
