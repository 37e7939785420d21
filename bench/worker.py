"""One benchmark measurement in its own process (so peak memory is this engine's): prints one JSON line."""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make `bench` and `textlens` importable from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.peers import engine_module
from bench.sets import SETS
from textlens.data.manifest import read_manifest
from textlens.errors import ModelError
from textlens.eval.runners import evaluate_pages, evaluate_recognizer


def _rss_mb() -> dict[str, float]:
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"rss_self_mb": round(self_kb / 1024, 1), "rss_children_mb": round(child_kb / 1024, 1)}


def measure(
    engine: str, set_name: str, manifest: Path, threads: int | None, limit: int | None, last: int | None = None
) -> dict[str, Any]:
    module = engine_module(engine)
    bench_set = SETS[set_name]
    row: dict[str, Any] = {
        "engine": engine,
        "set": set_name,
        "kind": bench_set.kind,
        "threads": threads or "all",
    }
    reason = module.unavailable()
    if reason:
        return {**row, "skipped": reason}
    records = read_manifest(manifest, limit)
    if last:
        records = records[-last:]
    try:
        t0 = time.perf_counter()
        if bench_set.kind == "rec":
            model = module.recognizer(bench_set.crop_kind, threads)
            init_s = time.perf_counter() - t0
            result = evaluate_recognizer(model, records, batch_size=1, init_s=init_s)
            row.update(result.to_json(), wer=round(result.scores.wer, 6))
        else:
            reader = module.page_reader(threads)
            init_s = time.perf_counter() - t0
            result = evaluate_pages(reader, records, level=bench_set.level, init_s=init_s)  # type: ignore[arg-type]
            row.update(result.to_json(), init_s=round(init_s, 3))
    except ModelError as exc:
        return {**row, "skipped": str(exc)}
    row["version"] = module.version()
    return {**row, **_rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engine", required=True)
    parser.add_argument("--set", required=True, dest="set_name")
    parser.add_argument("--manifest", required=True, type=Path)
    parser.add_argument("--threads", default="1")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--last", type=int, default=None)
    args = parser.parse_args()
    threads = None if args.threads == "all" else int(args.threads)
    try:
        row = measure(args.engine, args.set_name, args.manifest, threads, args.limit, args.last)
    except Exception as exc:  # report, don't hide: the table shows the failure and the log has the trace
        traceback.print_exc()
        row = {
            "engine": args.engine,
            "set": args.set_name,
            "threads": args.threads,
            "failed": f"{type(exc).__name__}: {exc}",
        }
    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
