#!/usr/bin/env bash
# Train the glimpse models (RAM, DRAM) on the on-the-fly MNIST tasks; see docs/glimpse.md.
# Usage: recipes/glimpse_train.sh [MNIST_DIR] [DEVICE]   (defaults: ../shared/data/mnist, auto)
# On the shared CPU machine run it niced with one thread:  OMP_NUM_THREADS=1 nice -n 10 recipes/glimpse_train.sh
set -euo pipefail
DATA=${1:-../shared/data/mnist}
DEVICE=${2:-auto}
common=(--data "$DATA" --device "$DEVICE" --batch 128 --val-every 2000 --no-progress)

# RAM, 28×28 MNIST, 6 glimpses of 8×8 (1 scale), ReLU RNN core: the bundled ram_mnist was trained like
# this (36k steps on one H100), then fine-tuned twice below with ±2 px jitter on the CPU.
textlens train glimpse --arch ram --task mnist --steps 36000 --lr 1e-3 --out runs/ram_mnist "${common[@]}"
textlens train glimpse --arch ram --task mnist --steps 14000 --lr 3e-4 --jitter 2 --init runs/ram_mnist/export \
  --out runs/ram_mnist_ft "${common[@]}"
textlens train glimpse --arch ram --task mnist --steps 15000 --lr 3e-4 --jitter 2 --init runs/ram_mnist_ft/export \
  --seed 1 --out runs/ram_mnist_ft2 "${common[@]}"

# RAM, translated (60×60) and cluttered (60×60, 4 fragments) MNIST: 8 glimpses of 12×12 at 3 scales.
textlens train glimpse --arch ram --task translated --steps 25000 --out runs/ram_translated "${common[@]}"
textlens train glimpse --arch ram --task cluttered60 --steps 25000 --out runs/ram_cluttered60 "${common[@]}"

# DRAM on 1–5 digit MNIST strings (64×160), 3 glimpses per symbol.
textlens train glimpse --arch dram --task multidigit --steps 10500 --mc-samples 0 --out runs/dram_multidigit \
  "${common[@]}"
