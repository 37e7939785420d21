#!/usr/bin/env bash
# The form extractor bundled as textlens/models/weights/_extract/form_kie (docs/extraction.md, "Forms").
# Data: FUNSD training pages 0-148 (../shared/data/funsd_train, research-only; nothing of them is committed but
# the trained parameters). Train on pages 0-128, validate on 129-148 (the pages the other cards hold out).
# Entities and links are learned from the labelled words; numpy on one CPU thread, about five CPU minutes.
set -euo pipefail
MANIFEST=${MANIFEST:-../shared/data/funsd_train/manifest.jsonl}
export OMP_NUM_THREADS=1

# 1. Train the models (words: two logistic passes; word pairs and row segments: boosted trees; entities: two
#    logistic passes and trees; links: logistic) and write the bundle; prints the scores on the labelled words of
#    the training and validation pages. The row, column and link thresholds are chosen inside the training pages
#    (a model fitted on three quarters of them, scored on the rest; written into config.json).
.venv/bin/textlens extract train --task form --manifest "$MANIFEST" \
    --train 0:129 --val 129:149 --l2 0.03 --steps 300 \
    --out textlens/models/weights/_extract/form_kie

# 2. The validation scores: from the labelled words (the anchors' protocol), then from our own OCR of the images.
.venv/bin/textlens eval extract --task form --manifest "$MANIFEST" --start 129 --input gt --json
.venv/bin/textlens eval extract --task form --manifest "$MANIFEST" --start 129 --input ocr --threads 1 --json
