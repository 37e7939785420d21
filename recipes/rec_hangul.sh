#!/usr/bin/env bash
# The Korean recogniser crnn_hangul (issue #41): crnn_fast over the `hangul` charset (textlens/data/charset.py:
# the 2,350 KS X 1001 syllables + printable ASCII + ₩ and Korean punctuation; 2,462 classes with the blank).
# crnn_fast rather than a wider CRNN: crnn_vgg (hidden 256) reads a 32x320 line 8x slower on one thread, past
# the 8 ms target. Training text: Debian's hunspell-ko words composed into phrases with numbers, Korean dates,
# won amounts and Latin words (textlens/data/synth/scripts.py); the `chars` source draws uniform syllables so the
# rare ones are seen. Fonts: every installed Hangul family but the held-out ones (NanumMyeongjo, UnDotum).
# Validation: synthetic dictionary lines in the training fonts (recipes/prepare_script_lines.py --val); the
# held-out catalog lines (runs/script-lines) are for the card and `make bench` only. KAIST scene words join
# with EXTRA_DATA=manifest:PATH,weight=W (textlens data convert from the KAIST reader).
# Options after MINUTES override the defaults (last wins).
# Usage: recipes/rec_hangul.sh OUT MINUTES [extra textlens train rec options]
#   e.g. OMP_NUM_THREADS=1 recipes/rec_hangul.sh runs/crnn_hangul 600
set -euo pipefail
out=$1 minutes=$2; shift 2
lines=${LINES:-runs/script-lines}
val_count=${VAL_COUNT:-1000}
[ -f "$lines/val-hangul/manifest.jsonl" ] ||
  python recipes/prepare_script_lines.py --out "$lines" --only-val --val "$val_count" --scripts hangul
extra=()
[ -n "${EXTRA_DATA:-}" ] && extra=(--data "$EXTRA_DATA")
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
exec python -m textlens train rec --arch crnn_fast --charset hangul --batch 32 --lr 1e-3 \
  --steps 1000000 --max-minutes "$minutes" --fit-schedule --precision auto --workers 1 --ema --val-every 1000 \
  --no-progress --name crnn_hangul \
  --data "synth:preset=mixed,fonts=train,langs=ko,weight=0.5" \
  --data "synth:preset=print,fonts=train,langs=ko,weight=0.3" \
  --data "synth:preset=scene,fonts=train,langs=ko,weight=0.2" \
  "${extra[@]}" \
  --val "manifest:$lines/val-hangul/manifest.jsonl" \
  --out "$out" "$@"
