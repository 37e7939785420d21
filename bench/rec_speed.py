"""Recogniser speed on CPU: ms per word crop (batched and one at a time), cold start and peak memory.

Usage::

    python bench/rec_speed.py textlens/models/weights/NAME   # a bundle folder
    python bench/rec_speed.py --export crnn_small   # export random weights first (needs torch)

Word crops are rendered with OpenCV before timing, so image decoding is excluded. Each thread count
is warmed up before it is timed. Cold start (session creation + first inference) and peak RSS are
measured in a fresh child process that imports only the torch-free runtime.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

WORDS = (
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "lazy",
    "dog",
    "Invoice",
    "TOTAL",
    "12.50",
    "2024-01-31",
    "textlens",
    "recognition",
    "a",
    "of",
    "Amount:",
    "(see",
    "page)",
    "€99",
)


def word_crops(count: int, seed: int = 0) -> list[np.ndarray]:
    """``count`` black-on-white word images, 28-48 px high, like a detector's crops."""
    rng = np.random.default_rng(seed)
    crops = []
    for i in range(count):
        text = WORDS[i % len(WORDS)].replace("€", "E")  # Hershey fonts have no euro sign
        scale = float(rng.uniform(0.7, 1.2))
        (w, h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
        height = h + int(rng.integers(10, 20))
        image = np.full((height, w + 8, 3), 255, np.uint8)
        cv2.putText(image, text, (4, (height + h) // 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (20, 20, 20), 2)
        crops.append(image)
    return crops


def peak_rss_mib() -> float:
    """Peak resident memory of this process (VmHWM: unlike ru_maxrss, not inherited from a forking parent)."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(folder: str, threads: int, count: int) -> None:
    """Runs in a fresh process: cold start and peak memory of the runtime alone."""
    crops = word_crops(count)
    start = time.perf_counter()
    from textlens.runtime.recognizer import OnnxRecognizer

    imported = time.perf_counter()
    recognizer = OnnxRecognizer(folder, threads=threads)
    created = time.perf_counter()
    recognizer.recognize(crops[:1])
    first = time.perf_counter()
    recognizer.recognize(crops)
    print(
        json.dumps(
            {
                "import_ms": 1000 * (imported - start),
                "session_ms": 1000 * (created - imported),
                "first_inference_ms": 1000 * (first - created),
                "cold_start_ms": 1000 * (first - imported),
                "peak_rss_mib": peak_rss_mib(),
                "torch_loaded": "torch" in sys.modules,
            }
        )
    )


def time_threads(folder: str, threads: int, crops: list[np.ndarray], batch_size: int, repeats: int) -> dict[str, float]:
    from textlens.runtime.recognizer import OnnxRecognizer

    recognizer = OnnxRecognizer(folder, threads=threads, batch_size=batch_size)
    recognizer.recognize(crops[:batch_size])  # warm-up: allocations and kernel selection
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        recognizer.recognize(crops)
        best = min(best, time.perf_counter() - start)
    singles = crops[:64]
    recognizer.recognize(singles[:1])
    start = time.perf_counter()
    for crop in singles:
        recognizer.recognize([crop])
    single = (time.perf_counter() - start) / len(singles)
    return {"threads": threads, "batched_ms_per_crop": 1000 * best / len(crops), "single_crop_ms": 1000 * single}


def export_random(name: str, out: Path) -> Path:
    import torch

    from textlens.export.bundle import bundle, model_config
    from textlens.models import create_model

    torch.manual_seed(0)
    model = create_model(name).eval()
    folder = out / name
    bundle(model, model_config(model, name), folder)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", nargs="?", help="bundle folder (config.json + model.onnx)")
    parser.add_argument("--export", metavar="MODEL", help="export this registered model with random weights")
    parser.add_argument("--crops", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.folder, args.threads, args.crops)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = str(export_random(args.export, Path(tmp))) if args.export else args.folder
        if not folder:
            parser.error("give a bundle folder or --export MODEL")
        crops = word_crops(args.crops)
        widths = [c.shape[1] * 32 / c.shape[0] for c in crops]
        cores = os.cpu_count() or 1
        report = {
            "folder": folder,
            "crops": len(crops),
            "mean_width_at_32px": float(np.mean(widths)),
            "cpu_count": cores,
            "runs": [],
        }
        for threads in sorted({1, cores}):
            report["runs"].append(time_threads(folder, threads, crops, args.batch_size, args.repeats))
        cold = subprocess.run(
            [sys.executable, __file__, folder, "--child", "--threads", "1", "--crops", str(min(args.crops, 64))],
            capture_output=True,
            text=True,
            check=True,
        )
        report["cold_start_1_thread"] = json.loads(cold.stdout)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
