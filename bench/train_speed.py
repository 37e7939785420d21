"""Recogniser training speed on CPU: samples per second of one optimiser step, per registered architecture.

Usage::

    python bench/train_speed.py                       # every recogniser, widths 128 and 256, batch 32
    python bench/train_speed.py --arch crnn_small --widths 128,256,512 --threads 2

Each step is what `textlens train rec` does per batch: the training system's loss (CTC or cross-entropy),
backward, gradient clipping and AdamW, in fp32 with channels_last. Data loading is excluded (the synthetic
renderer runs ~600 lines/s per core in its own worker, never the bottleneck); the default recipe's crops
are 126 px wide at the median and 225 px on average after padding (wide FUNSD and SROIE lines), so its
end-to-end rate in the trainer's log sits near the 256 px column.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from textlens.data.charset import Charset
from textlens.models.registry import list_models
from textlens.train.data import collate
from textlens.train.rec import crop_spec, label_rules, model_decoder, num_classes
from textlens.train.system import RecognitionSystem

ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,:-/"


def fake_batch(system: RecognitionSystem, batch: int, width: int, seed: int = 0) -> dict:
    """``batch`` random crops of the model's height × ``width`` with texts of about one character per 16 px."""
    rng = np.random.default_rng(seed)
    model = system.model
    channels, height = model.input_config()["channels"], model.input_config()["height"]
    length = max(1, width // 16)
    items = []
    for _ in range(batch):
        image = rng.random((channels, height, width), dtype=np.float32)
        text = "".join(rng.choice(list(ALPHABET), size=length))
        items.append((image, text, True))
    return collate(items, crop_spec(system), label_rules(system))


def build(arch: str) -> RecognitionSystem:
    charset = Charset.from_spec("latin")
    return RecognitionSystem(arch, {"num_classes": num_classes(charset, model_decoder(arch))}, charset.chars)


def measure(system: RecognitionSystem, widths: list[int], batch: int, steps: int) -> list[float]:
    system.model.train().to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(system.model.parameters(), lr=1e-4)
    rates = []
    fixed = system.model.input_config().get("max_width")
    for width in widths:
        # A fixed-width model (ViTSTR) resizes every crop to its width: one cost whatever the crop.
        data = fake_batch(system, batch, fixed or width)

        def step(data: dict = data) -> None:
            loss = system.compute_loss(data)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(system.model.parameters(), 5.0)
            optimizer.step()

        for _ in range(2):  # warm-up: oneDNN picks its kernels on the first calls
            step()
        started = time.perf_counter()
        for _ in range(steps):
            step()
        rates.append(batch * steps / (time.perf_counter() - started))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", action="append", help="architecture (repeatable); default: every recogniser")
    parser.add_argument("--widths", default="128,256", help="crop widths in pixels, comma-separated")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=8, help="timed steps per width")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    widths = [int(w) for w in args.widths.split(",")]
    archs = args.arch or list_models("recognition")
    print(f"samples/s per training step, batch {args.batch}, {args.threads} threads, fp32, channels_last\n")
    print("| arch | params | " + " | ".join(f"width {w}" for w in widths) + " |")
    print("|---|---|" + "---|" * len(widths))
    for arch in archs:
        system = build(arch)
        params = sum(p.numel() for p in system.model.parameters())
        rates = measure(system, widths, args.batch, args.steps)
        fixed = system.model.input_config().get("max_width")
        arch = f"{arch} (fixed width {fixed})" if fixed else arch
        print(f"| {arch} | {params / 1e6:.2f} M | " + " | ".join(f"{r:.0f}" for r in rates) + " |", flush=True)


if __name__ == "__main__":
    main()
