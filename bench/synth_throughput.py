"""Benchmark: synthetic line crops per second per core (32-px-high crops, default degradations).

Usage: OMP_NUM_THREADS=1 python bench/synth_throughput.py [--count 2000] [--preset mixed] [--height 32]
Runs in one process on one core after a warm-up that fills the font cache (as in a long-running worker), then
prints crops per second of CPU time, and a profile summary when --profile is given.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time

import cv2

from textlens.data.synth import PRESET_NAMES, LineRenderer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--preset", default="all", choices=[*PRESET_NAMES, "all"])
    parser.add_argument("--height", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=3000, help="Crops rendered before timing.")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    presets = PRESET_NAMES if args.preset == "all" else (args.preset,)
    for name in presets:
        renderer = LineRenderer(preset=name, height=args.height, seed=0)
        for i in range(args.warmup):  # fill the font cache like a long-running worker
            renderer.sample_at(10_000_000 + i)
        profiler = cProfile.Profile() if args.profile else None
        start, cpu_start = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        for i in range(args.count):
            renderer.sample_at(i)
        if profiler:
            profiler.disable()
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        # CPU time is the per-core figure; wall time also counts waiting for a shared core
        print(f"{name:8s} {args.count / cpu:7.0f} lines/s/core (CPU time; {args.count / elapsed:.0f}/s wall) "
              f"[{args.count} crops, height {args.height}]")
        if profiler:
            pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
