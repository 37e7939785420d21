#!/usr/bin/env bash
# Train db_fast, the detector built to train on a CPU (plain 3×3 convolutions: a training step costs 0.14 s
# of CPU per 512² crop against db_small's 0.26 s), on a time budget: the learning-rate decay is fitted to
# MINUTES (--fit-schedule), so the run always ends annealed. Data as recipes/det_db_small.sh: synthetic
# pages (all kinds) + FUNSD training pages 0-128, validated on FUNSD pages 129-148 (held out).
#
# usage: recipes/det_db_fast_cpu.sh OUT MINUTES [STEPS] [extra textlens train det options]
#   e.g. continue from the bundled weights:  recipes/det_db_fast_cpu.sh runs/db_fast_ft1 120 6000 --finetune db_fast
#   DATA=../shared/data (where funsd_train/ lives); THREADS (default 2), BATCH (default 8).
# Precision auto: bf16 autocast where the CPU has AVX512-BF16/AMX (2026-12-05, Xeon with AMX, 2 threads, 2.5-min
# runs: 9.2 crops/s fp32 → 13.1 bf16), fp32 elsewhere (emulated bf16 is slower).
set -euo pipefail
out=$1 minutes=$2 steps=${3:-6000}; shift $(( $# < 3 ? $# : 3 ))
DATA=${DATA:-../shared/data}
FUNSD="$DATA/funsd_train/manifest.jsonl"
export OMP_NUM_THREADS=${THREADS:-2} OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
exec python -m textlens train det --arch db_fast \
  --data synth-pages:kind=mixed,crops=2,weight=1 \
  --data "manifest:$FUNSD,start=0,stop=129,weight=1" \
  --val "manifest:$FUNSD,start=129" \
  --steps "$steps" --batch "${BATCH:-8}" --size 512 --long-side 1024 --lr 3e-3 \
  --workers 1 --val-every 500 --max-minutes "$minutes" --fit-schedule \
  --device cpu --precision auto --no-progress --out "$out" --name db_fast "$@"
