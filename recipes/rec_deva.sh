#!/usr/bin/env bash
# The Devanagari recogniser crnn_deva (issue #41): Hindi, Marathi and Nepali lines, crnn_fast over the `deva`
# charset (textlens/data/charset.py: 93 Devanagari letters, signs, digits and dandas + the Latin charset + ₹;
# conjuncts are drawn by the shaping engine, not classes). Training text: Debian's hunspell-hi, hunspell-ne and
# aspell-mr word lists composed into phrases with numbers, dates, prices and Latin words
# (textlens/data/synth/scripts.py); fonts: every installed Devanagari family but the held-out ones (Annapurna SIL,
# Kalimati). Validation: synthetic dictionary lines in the training fonts (recipes/prepare_script_lines.py --val);
# the held-out catalog lines (runs/script-lines, never trained on) are for the card and `make bench` only.
# A KAIST-format or other crop manifest joins with EXTRA_DATA=manifest:PATH,weight=W.
# Options after MINUTES override the defaults (last wins).
# Usage: recipes/rec_deva.sh OUT MINUTES [extra textlens train rec options]
#   e.g. OMP_NUM_THREADS=1 recipes/rec_deva.sh runs/crnn_deva 600
set -euo pipefail
out=$1 minutes=$2; shift 2
lines=${LINES:-runs/script-lines}
val_count=${VAL_COUNT:-1000}
langs=hi+mr+ne
[ -f "$lines/val-deva/manifest.jsonl" ] ||
  python recipes/prepare_script_lines.py --out "$lines" --only-val --val "$val_count" --scripts deva
extra=()
[ -n "${EXTRA_DATA:-}" ] && extra=(--data "$EXTRA_DATA")
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
exec python -m textlens train rec --arch crnn_fast --charset deva --batch 32 --lr 1e-3 \
  --steps 1000000 --max-minutes "$minutes" --fit-schedule --precision auto --workers 1 --ema --val-every 1000 \
  --no-progress --name crnn_deva \
  --data "synth:preset=mixed,fonts=train,langs=$langs,weight=0.6" \
  --data "synth:preset=print,fonts=train,langs=$langs,weight=0.4" \
  "${extra[@]}" \
  --val "manifest:$lines/val-deva/manifest.jsonl" \
  --out "$out" "$@"
