"""What the HTTP service adds to one read: p50 of ``POST /v1/read`` against ``OCR.read`` in one process.

    python -m bench.serve_overhead [--image examples/sample.png] [--requests 30]

Starts ``textlens serve --workers 1 --threads 1`` on a free loopback port, and in this process an ``OCR(threads=1)``;
after 3 warm-up calls of each, alternates one direct ``OCR.read`` of the file's bytes and one request (a kept-alive
httpx client, raw body, JSON answer) so a changing load on the machine hits both alike. Prints the p50 / p90 of
both and their difference (the service overhead: HTTP, the upload, the hand-off to the worker process and back,
the JSON). Not part of the test suite (docs/serving.md).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", type=Path, default=ROOT / "examples" / "sample.png")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from textlens import OCR

    data = args.image.read_bytes()
    base = f"http://127.0.0.1:{args.port}"
    command = [sys.executable, "-m", "textlens", "serve", "--port", str(args.port), "--workers", "1", "--threads", "1"]
    server = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            for _ in range(300):
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            ocr = OCR(threads=1)
            direct, served, worker = [], [], []
            for i in range(args.requests + 3):
                t = time.perf_counter()
                ocr.read(data)
                d = time.perf_counter() - t
                t = time.perf_counter()
                response = client.post("/v1/read", content=data)
                s = time.perf_counter() - t
                response.raise_for_status()
                if i >= 3:
                    direct.append(d)
                    served.append(s)
                    worker.append(response.json()["metadata"]["seconds"])
    finally:
        server.terminate()
        server.wait(60)
    ms = 1000.0
    print(f"{args.image.name}, {args.requests} requests, 1 worker, 1 thread")
    print(f"OCR.read          p50 {percentile(direct, 0.5) * ms:7.1f} ms  p90 {percentile(direct, 0.9) * ms:7.1f} ms")
    print(f"POST /v1/read     p50 {percentile(served, 0.5) * ms:7.1f} ms  p90 {percentile(served, 0.9) * ms:7.1f} ms")
    print(f"read in worker    p50 {percentile(worker, 0.5) * ms:7.1f} ms")
    overhead = [s - d for s, d in zip(served, direct, strict=True)]
    outside = [s - w for s, w in zip(served, worker, strict=True)]
    print(f"overhead          p50 {(percentile(served, 0.5) - percentile(direct, 0.5)) * ms:7.1f} ms")
    print(f"  per pair (request - direct read), median {statistics.median(overhead) * ms:7.1f} ms")
    print(f"  per request (request - its read in the worker), median {statistics.median(outside) * ms:7.1f} ms")


if __name__ == "__main__":
    main()
