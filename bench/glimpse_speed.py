"""Glimpse models on CPU: ms per image (batched and one at a time, mean path and 10 sampled paths), cold start
and peak memory, for every bundled RAM / DRAM model.

Usage::

    python -m bench.glimpse_speed                       # every bundled glimpse model, 1 thread
    python -m bench.glimpse_speed --models dram_multidigit --threads 2 --images 1024

Images are the models' own validation tasks when MNIST is found (``--data``, default ../shared/data/mnist),
otherwise the same tasks composed from random 28×28 blobs: the models read a fixed number of glimpses, so the
cost does not depend on what the image shows. Each model runs in a fresh child process so that its cold start
(import + load + first prediction) and peak RSS are its own; the RSS is read after the first prediction,
before the test images are made.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.rec_speed import peak_rss_mib

GLIMPSE_MODELS = ("ram_mnist", "ram_translated", "ram_cluttered60", "dram_multidigit")
ROOT = Path(__file__).resolve().parents[1]


def task_images(task: str, count: int, data: Path) -> tuple[list[np.ndarray], str]:
    """``count`` images of ``task``: MNIST's validation split when present, else random blobs."""
    from textlens.data.digits import DigitTask, build_task

    if (data / "train-images-idx3-ubyte").exists() or any(data.glob("train-images*")):
        source = build_task(task, "val", data)
        where = f"MNIST validation split ({data})"
    else:
        rng = np.random.default_rng(0)
        blobs = (rng.random((1000, 28, 28)) > 0.7).astype(np.uint8) * 255
        source = DigitTask(task, blobs, rng.integers(0, 10, 1000), fixed=True)
        where = "random 28×28 blobs (MNIST not found)"
    return [source.sample(i)[0] for i in range(count)], where


def child(name: str, threads: int, count: int, batch: int, data: Path) -> dict[str, Any]:
    """Runs in a fresh process: time to import and load, then speed of the mean path and of 10 sampled paths."""
    start = time.perf_counter()
    import torch

    from textlens.models.glimpse.predict import load_glimpse
    from textlens.models.registry import load_config

    torch.set_num_threads(threads)
    imported = time.perf_counter()
    loaded = load_glimpse(name)
    created = time.perf_counter()
    loaded.predict([np.zeros((loaded.height, loaded.width), np.uint8)])
    first = time.perf_counter()
    rss = peak_rss_mib()  # before the test images (and MNIST) are read: the model's own footprint
    task = str(load_config(name)["task"]["name"])
    images, where = task_images(task, count, data)

    def per_image(samples: int, size: int, limit: int) -> float:
        subset = images[:limit]
        loaded.predict(subset[:size], samples)  # warm-up: allocations and kernel selection
        begin = time.perf_counter()
        for i in range(0, len(subset), size):
            loaded.predict(subset[i : i + size], samples)
        return 1000 * (time.perf_counter() - begin) / len(subset)

    params = sum(p.numel() for p in loaded.model.parameters())
    return {
        "model": name,
        "task": task,
        "images": where,
        "threads": threads,
        "params_m": params / 1e6,
        "import_ms": 1000 * (imported - start),
        "load_ms": 1000 * (created - imported),
        "first_prediction_ms": 1000 * (first - created),
        "batched_ms": per_image(1, batch, count),
        "single_ms": per_image(1, 1, min(count, 128)),
        "batched_mc10_ms": per_image(10, batch, min(count, 256)),
        "peak_rss_mib": rss,
    }


def table(rows: list[dict[str, Any]], batch: int) -> str:
    head = (
        f"| model | params | threads | ms/image, batch {batch} | ms/image, one at a time | ms/image, 10 paths "
        "| cold start ms (import + load + first) | peak RSS MiB, loaded + first prediction |"
    )
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        cold = float(r["import_ms"]) + float(r["load_ms"]) + float(r["first_prediction_ms"])
        lines.append(
            f"| {r['model']} | {float(r['params_m']):.2f} M | {r['threads']} | {float(r['batched_ms']):.2f} "
            f"| {float(r['single_ms']):.2f} | {float(r['batched_mc10_ms']):.2f} | {cold:.0f} "
            f"| {float(r['peak_rss_mib']):.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=",".join(GLIMPSE_MODELS), help="comma-separated bundled names")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "mnist")
    parser.add_argument("--child", metavar="MODEL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.threads, args.images, args.batch, args.data)))
        return
    rows = []
    for name in args.models.split(","):
        command = [sys.executable, "-m", "bench.glimpse_speed", "--child", name, "--threads", str(args.threads)]
        command += ["--images", str(args.images), "--batch", str(args.batch), "--data", str(args.data)]
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        if done.returncode != 0:
            print(f"{name}: failed\n{done.stderr[-2000:]}", file=sys.stderr)
            continue
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(json.dumps(rows, indent=2))
    print(table(rows, args.batch))


if __name__ == "__main__":
    main()
