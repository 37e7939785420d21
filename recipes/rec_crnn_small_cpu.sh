#!/usr/bin/env bash
# The bundled recognisers' CPU training on 2 cores (precision auto: bf16 where the CPU has AVX512-BF16/AMX,
# measured 112 → 134 samples/s for crnn_fast with LINES=1; fp32 on AVX2-only machines, where bf16 is slower).
# Data: synthetic lines (all fonts, mixed preset) + word crops of FUNSD train pages 0-128 + line crops of
# SROIE receipts 0-119 (recipes/prepare_real_crops.py); with LINES=1 also line crops of FUNSD pages 0-128.
# Validation: FUNSD pages 129-148 (held out).
# Usage: [LINES=1] [FRAME=ink] recipes/rec_crnn_small_cpu.sh OUT MINUTES STEPS [extra textlens train rec options]
# FRAME=ink: real crops are reframed to their ink rows plus a random margin (frame=ink, see docs/recognition.md).
# SROIE_CASE=any: the SROIE line crops teach letters, not their case (case=any): SROIE writes every receipt
# line in capitals, also the half of them printed in lower case (docs/recognition.md).
# Options given after STEPS override the defaults below (the last value wins), e.g. a continuation run:
#   recipes/rec_crnn_small_cpu.sh runs/crnn_small_ft1 130 7000 --finetune crnn_fast --lr 8e-4 --seed 11
set -euo pipefail
out=$1 minutes=$2 steps=$3; shift 3
crops=${CROPS:-runs/real-crops}
[ -f "$crops/funsd_train_lines_train/manifest.jsonl" ] || python recipes/prepare_real_crops.py --out "$crops"
# ACTIVE: the two OpenMP threads spin at their barriers instead of sleeping in futex calls (43 % system time
# with PASSIVE). 2026-12-05, AVX2-only EPYC, crnn_fast LINES=1, fp32, 3-minute runs: 67.7 → 79.6 samples/s.
# When the cores are shared (tests or a second run beside it), give OMP_WAIT_POLICY=PASSIVE: spinning
# threads starve the other process.
real=""
[ "${FRAME:-box}" = ink ] && real=",frame=ink"
sroie_case=""
[ "${SROIE_CASE:-exact}" = any ] && sroie_case=",case=any"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-ACTIVE}
if [ "${LINES:-0}" = 1 ]; then
  # SROIE at 0.1 (was 0.15 until crnn_fast stage 4): its all-caps lines taught "Total" → "TOTAL".
  mix=(--data synth:preset=mixed,fonts=all,weight=0.65
       --data "manifest:$crops/funsd_train_train/manifest.jsonl,weight=0.15$real"
       --data "manifest:$crops/funsd_train_lines_train/manifest.jsonl,weight=0.1$real"
       --data "manifest:$crops/sroie_dev_train/manifest.jsonl,weight=0.1$real$sroie_case")
else
  mix=(--data synth:preset=mixed,fonts=all,weight=0.7
       --data "manifest:$crops/funsd_train_train/manifest.jsonl,weight=0.15$real"
       --data "manifest:$crops/sroie_dev_train/manifest.jsonl,weight=0.15$real$sroie_case")
fi
exec python -m textlens train rec --arch crnn_small --batch 32 --lr 1.5e-3 --steps "$steps" --max-minutes "$minutes" \
  --precision auto --workers 1 --ema --val-every 1500 --no-progress --name crnn_small "${mix[@]}" \
  --val "manifest:$crops/funsd_train_heldout/manifest.jsonl" \
  --out "$out" "$@"
