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
    parser.add_argument("--warmup", type=int, default=20000, help="Crops rendered before timing (fills the caches).")
    parser.add_argument("--chunk", type=int, default=250, help="Crops per timed chunk (median and best).")
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
        chunk_rates = []  # crops per CPU-second of each chunk: on a shared VM the best chunks show the cost
        for first in range(0, args.count, args.chunk):
            chunk_cpu = time.process_time()
            for i in range(first, min(first + args.chunk, args.count)):
                renderer.sample_at(i)
            chunk_rates.append((min(first + args.chunk, args.count) - first) / (time.process_time() - chunk_cpu))
        if profiler:
            profiler.disable()
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        chunk_rates.sort()
        # CPU time is the per-core figure; wall time also counts waiting for a shared core
        print(
            f"{name:8s} {args.count / cpu:7.0f} lines/s/core (CPU time; {args.count / elapsed:.0f}/s wall; "
            f"chunks of {args.chunk}: median {chunk_rates[len(chunk_rates) // 2]:.0f}, "
            f"best {chunk_rates[-1]:.0f}) [{args.count} crops, height {args.height}]"
        )
        if profiler:
            pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
