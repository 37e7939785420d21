"""How much one glimpse can tell: a supervised probe of the glimpse sensor on multi-digit strings.

A small CNN (DRAM's "what" pathway: convolutions 16/32/32, FC 256, then a linear classifier) is trained to
name the digit under ONE glimpse taken at the digit's centre, moved by Gaussian noise of ``--jitter``
(in the sensor's [-1, 1] location units, as the policy's σ). It bounds what DRAM can read from a glimpse
that lands there: a large error at the training σ means DRAM's classifier learns from glimpses that often
miss their digit. Training strings come from MNIST images 0–54,999, validation strings from the last 5,000.

    python recipes/glimpse_sensor_probe.py --size 12 --scales 2 --jitter 0.1
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from textlens.data.digits import DigitTask, build_task
from textlens.models.glimpse.dram import WhatWhereGlimpse
from textlens.models.glimpse.sensor import extract_patches


def digit_glimpse_targets(task: DigitTask, count: int, first_index: int) -> tuple[Tensor, Tensor, Tensor]:
    """``count`` digits of the task's strings: each string image, the digit's centre in [-1, 1]², its label."""
    images: list[np.ndarray] = []
    centres: list[tuple[float, float]] = []
    labels: list[int] = []
    width, height = task.spec.width, task.spec.height
    index = first_index
    while len(labels) < count:
        image, text, boxes = task.string_sample(index)
        for digit, box in zip(text, boxes, strict=True):
            images.append(image)
            centres.append(((box[0] + box[2]) / width - 1.0, (box[1] + box[3]) / height - 1.0))
            labels.append(int(digit))
        index += 1
    pixels = torch.from_numpy(np.stack(images[:count])).unsqueeze(1).float() / 255.0
    return pixels, torch.tensor(centres[:count], dtype=torch.float32), torch.tensor(labels[:count])


def probe_network(size: int, scales: int) -> nn.Module:
    """DRAM's "what" pathway (its glimpse network's convolutions and FC 256) and a digit classifier."""
    glimpse = WhatWhereGlimpse(scales, size, (16, 32, 32), 256)
    return nn.Sequential(glimpse.convs, nn.Flatten(), glimpse.what, nn.ReLU(), nn.Linear(256, 10))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="../shared/data/mnist")
    parser.add_argument("--size", type=int, default=12, help="glimpse side in pixels (finest scale)")
    parser.add_argument("--scales", type=int, default=2)
    parser.add_argument("--jitter", type=float, default=0.1, help="σ of the location noise, [-1, 1] units")
    parser.add_argument("--train", type=int, default=60_000, help="training digits")
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()
    torch.manual_seed(0)
    train = digit_glimpse_targets(build_task("multidigit", "train", data=args.data), args.train, 10**6)
    val = digit_glimpse_targets(build_task("multidigit", "val", data=args.data), 5000, 0)
    net = probe_network(args.size, args.scales)
    optimizer = torch.optim.Adam(net.parameters(), 1e-3)

    def glimpses(pixels: Tensor, centres: Tensor, jitter: float) -> Tensor:
        moved = (centres + jitter * torch.randn_like(centres)).clamp(-1.0, 1.0)
        return extract_patches(pixels, moved, args.size, args.scales)

    started = time.perf_counter()
    for epoch in range(args.epochs):
        order = torch.randperm(len(train[2]))
        for start in range(0, len(order), 128):
            batch = order[start : start + 128]
            loss = F.cross_entropy(net(glimpses(train[0][batch], train[1][batch], args.jitter)), train[2][batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            errors = {
                j: (net(glimpses(val[0], val[1], j)).argmax(1) != val[2]).float().mean().item()
                for j in (args.jitter, 0.0)
            }
        print(
            f"size {args.size} scales {args.scales} jitter {args.jitter} epoch {epoch + 1}: validation error "
            f"{100 * errors[args.jitter]:.2f} % at the training jitter, {100 * errors[0.0]:.2f} % centred "
            f"({time.perf_counter() - started:.0f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
