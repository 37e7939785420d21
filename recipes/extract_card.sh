#!/usr/bin/env bash
# Business cards (issue #38, deliverable 3): the card extractor is rule-based (nothing to train); this recipe
# writes the held-out synthetic cards (fonts="val", photographed; seed 1000, never looked at while the rules
# were written; the rules were tuned on seed 7) and scores the extractor on them from our own OCR.
# Needs the extract extra: pip install -e '.[extract]'.
set -euo pipefail
OUT=${OUT:-runs/extract_card}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
python -m textlens.extract.card_synth "$OUT/heldout" --count 100 --seed 1000 --fonts val
textlens eval extract --task card --manifest "$OUT/heldout/manifest.jsonl" --threads 1 \
  --errors "$OUT/heldout_misses.jsonl" --json | tee "$OUT/heldout_scores.json"
# contacts of the first ten cards, as a phone book and a table
textlens extract card "$OUT"/heldout/card_000?.jpg -o "$OUT/contacts.vcf" --threads 1
textlens extract card "$OUT"/heldout/card_000?.jpg -o "$OUT/contacts.csv" --threads 1
