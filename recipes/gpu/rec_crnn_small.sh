#!/usr/bin/env bash
# crnn_small's training run on a GPU machine (16 cores render the data); its bundle was dropped on 2026-12-07.
# Usage (repo root, after recipes/gpu/setup_device.sh): recipes/gpu/rec_crnn_small.sh OUT MINUTES STEPS [--resume|--finetune X]
set -euo pipefail
out=$1 minutes=$2 steps=$3; shift 3
export PYTHONPATH=$PWD:/tmp/site PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
python3 - "$out" "$minutes" "$steps" "$@" <<'PY'
import sys
from textlens.train.rec import RecTrainConfig, train_recognizer
out, minutes, steps, *extra = sys.argv[1:]
cfg = RecTrainConfig(
    out=out, arch="crnn_small", steps=int(steps), batch=256, lr=1.5e-3, workers=15, device="cuda",
    precision="bf16", val_every=1000, ema=True, max_minutes=float(minutes), progress=False, name="crnn_small",
    data=["synth:preset=mixed,fonts=all,weight=0.7",
          "manifest:.gpu/real/funsd_train_train/manifest.jsonl,weight=0.15",
          "manifest:.gpu/real/sroie_dev_train/manifest.jsonl,weight=0.15"],
    val=["manifest:.gpu/val/funsd_train_heldout/manifest.jsonl"],
    resume="--resume" in extra,
    finetune=extra[extra.index("--finetune") + 1] if "--finetune" in extra else None,
)
print(train_recognizer(cfg))
PY
