#!/usr/bin/env bash
# One GPU, three training runs at once: the default recogniser (crnn_fast) and detector (db_fast) continue
# from their bundled weights, and EAST (east_small) trains from scratch. The GPU is nowhere near busy with these
# small models; the 16 cores that render synthetic lines and pages are the limit, so they are shared out:
# REC_WORKERS for the recogniser, DB_WORKERS and EAST_WORKERS for the detectors.
#
# usage (repo root of a device machine, after recipes/gpu/pack.sh here; .gpupack and .whl carried):
#   recipes/gpu/train_parallel.sh MINUTES [RESULTS_DIR]
# Each run stops after MINUTES of training with its learning rate annealed (--fit-schedule), validates and
# exports; RESULTS_DIR (default $OUT, else runs/gpu-results) receives one .tgz per run (export/, summary.json,
# log) and the combined log. Local dry run on CPU: DEVICE=cpu PRECISION=fp32 REC_BATCH=16 DET_BATCH=2 ... SETUP=0
set -uo pipefail
minutes=$1
results=${2:-${OUT:-runs/gpu-results}}
mkdir -p "$results" runs
export PYTHONPATH=$PWD:/tmp/site:${PYTHONPATH:-} PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
PY=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda} PRECISION=${PRECISION:-bf16}
REC_BATCH=${REC_BATCH:-256} DET_BATCH=${DET_BATCH:-32}
REC_WORKERS=${REC_WORKERS:-9} DB_WORKERS=${DB_WORKERS:-3} EAST_WORKERS=${EAST_WORKERS:-2}
PAGES=${PAGES:-.gpu/data}
CROPS=${CROPS:-.gpu/real}
started=$(date +%s)

if [ "${SETUP:-1}" = 1 ]; then
  recipes/gpu/setup_device.sh || exit 1
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
fi
[ -f "$CROPS/funsd_train_train/manifest.jsonl" ] || "$PY" recipes/prepare_real_crops.py --data "$PAGES" --out "$CROPS"
# Scan the fonts once, before three processes would each do it.
"$PY" -c "from textlens.data.synth.fonts import select_fonts; print('fonts:', len(select_fonts('all')))" || exit 1
echo "setup took $(( $(date +%s) - started )) s"

funsd="$PAGES/funsd_train/manifest.jsonl"
common_det=(--data synth-pages:kind=mixed,crops=3,weight=1 --data "manifest:$funsd,start=0,stop=129,weight=1"
            --val "manifest:$funsd,start=129" --batch "$DET_BATCH" --size 512 --long-side 1024
            --max-minutes "$minutes" --fit-schedule --device "$DEVICE" --precision "$PRECISION" --no-progress)

JOBS=${JOBS:-rec db east}  # a subset, e.g. JOBS=rec REC_WORKERS=14; glimpse: ram_tr ram_cl dram dram_wide
pids=()
# launch JOB LOG COMMAND...: start COMMAND in the background when JOB is in $JOBS. `$!` is then the trainer
# itself (not a subshell), so the deadline below stops the right process.
launch() {
  local job=$1 log=$2; shift 2
  [[ " $JOBS " == *" $job "* ]] || return 0
  "$@" >"$log" 2>&1 &
  pids+=($!)
}
launch rec runs/g_crnn_fast.log "$PY" -m textlens train rec --arch crnn_fast --name crnn_fast \
  --seed "${REC_SEED:-71}" --batch "$REC_BATCH" --lr "${REC_LR:-1.5e-3}" --finetune "${REC_FROM:-crnn_fast}" \
  --steps 40000 --max-minutes "$minutes" --fit-schedule --precision "$PRECISION" --device "$DEVICE" \
  --workers "$REC_WORKERS" --ema --val-every "${REC_VAL_EVERY:-2000}" --no-progress \
  --data synth:preset=mixed,fonts=all,weight=0.65 \
  --data "manifest:$CROPS/funsd_train_train/manifest.jsonl,weight=0.15" \
  --data "manifest:$CROPS/funsd_train_lines_train/manifest.jsonl,weight=0.1" \
  --data "manifest:$CROPS/sroie_dev_train/manifest.jsonl,weight=0.1" \
  --val "manifest:$CROPS/funsd_train_heldout/manifest.jsonl" --out runs/g_crnn_fast
launch db runs/g_db_fast.log "$PY" -m textlens train det --arch db_fast --finetune db_fast --name db_fast \
  --seed 72 --lr 2e-3 --steps 6000 --workers "$DB_WORKERS" --val-every "${DET_VAL_EVERY:-300}" "${common_det[@]}" \
  --out runs/g_db_fast
launch east runs/g_east_small.log "$PY" -m textlens train det --arch east_small --name east_small \
  --seed 73 --lr 3e-3 --steps 6000 --workers "$EAST_WORKERS" --val-every "${DET_VAL_EVERY:-300}" "${common_det[@]}" \
  --out runs/g_east_small
# Glimpse models (#8): MNIST tasks render in microseconds, so each needs one data worker; the GPU interleaves
# their small sequential kernels. dram continues the bundled weights; dram_wide tries 3 scales and 512 units.
glimpse=(-m textlens train glimpse --data "$PAGES/mnist" --device "$DEVICE" --max-minutes "$minutes" --fit-schedule
         --steps 200000 --val-every "${GLIMPSE_VAL_EVERY:-2000}" --workers 1 --no-progress)
launch ram_tr runs/g_ram_translated.log "$PY" "${glimpse[@]}" --arch ram --task translated --batch 128 --lr 1e-3 \
  --seed 81 --name ram_translated --out runs/g_ram_translated
launch ram_cl runs/g_ram_cluttered60.log "$PY" "${glimpse[@]}" --arch ram --task cluttered60 --batch 128 --lr 1e-3 \
  --seed 82 --name ram_cluttered60 --out runs/g_ram_cluttered60
launch dram runs/g_dram_multidigit.log "$PY" "${glimpse[@]}" --arch dram --task multidigit --batch 256 --lr 5e-4 \
  --mc-samples 0 --init "${DRAM_FROM:-textlens/models/weights/dram_multidigit}" --seed 83 --name dram_multidigit \
  --out runs/g_dram_multidigit
launch dram_wide runs/g_dram_wide.log "$PY" "${glimpse[@]}" --arch dram --task multidigit --batch 256 \
  --lr "${DRAM_WIDE_LR:-1e-3}" ${DRAM_WIDE_FROM:+--init "$DRAM_WIDE_FROM"} \
  --mc-samples 0 --model-option scales=3 --model-option hidden=512 --seed 84 --name dram_multidigit \
  --out runs/g_dram_wide
running() { for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && return 0; done; return 1; }

# A GPU sample every 30 s: utilisation (runs/gpu_util.log) tells whether the cores or the GPU were the limit.
if [ "$DEVICE" = cuda ]; then
  (while running; do
     nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader; sleep 30; done) >runs/gpu_util.log &
fi
# A run still going at DEADLINE seconds (default 570: a device call is cut at 600 s) is stopped, so the
# results below are always packed.
deadline=$(( started + ${DEADLINE:-570} ))
while running && [ "$(date +%s)" -lt "$deadline" ]; do sleep 2; done
for pid in "${pids[@]}"; do
  kill -0 $pid 2>/dev/null && { echo "job $pid past the deadline: stopped"; kill -TERM $pid; }
  wait $pid; echo "job $pid exit $?"
done
echo "all done after $(( $(date +%s) - started )) s"

for run in g_crnn_fast g_db_fast g_east_small g_ram_translated g_ram_cluttered60 g_dram_multidigit g_dram_wide; do
  [ -d runs/$run ] || continue
  tar czf "$results/$run.tgz" --exclude='*.ckpt' runs/$run runs/$run.log 2>/dev/null
  echo "== $run"; tail -n 25 runs/$run.log
done
cp runs/gpu_util.log "$results/" 2>/dev/null
ls -la "$results"
