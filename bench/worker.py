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
from textlens.data.manifest import ManifestRecord, read_manifest
from textlens.document import Document
from textlens.errors import ModelError
from textlens.eval.results import PageResult, RecResult, page_result, rec_result
from textlens.eval.runners import (
    as_pred_words,
    document_lines,
    evaluate_pages,
    evaluate_recognizer,
    peak_rss_mb,
    record_langs,
)


def _rss_mb() -> dict[str, float]:
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"rss_self_mb": round(self_kb / 1024, 1), "rss_children_mb": round(child_kb / 1024, 1)}


def evaluate_pages_by_lang(
    module: Any, threads: int | None, records: list[ManifestRecord], level: str, t0: float
) -> PageResult:
    """``evaluate_pages`` with one reader per page language (records' ``lang``), for engines with PER_LANGUAGE.

    Readers are built up front (their construction is ``init_s``); one untimed warm-up on the first page.
    """
    readers = {lang: module.page_reader(threads, lang=lang) for lang in dict.fromkeys(_lang(r) for r in records)}
    init_s = time.perf_counter() - t0
    if records:
        readers[_lang(records[0])](records[0].load_image())
    preds, elapsed = [], 0.0
    for record in records:
        image = record.load_image()
        t1 = time.perf_counter()
        raw = readers[_lang(record)](image)
        preds.append(as_pred_words(document_lines(raw) if isinstance(raw, Document) else raw))
        elapsed += time.perf_counter() - t1
    return page_result(
        [r.image for r in records],
        [r.words for r in records],
        preds,
        level=level,  # type: ignore[arg-type]
        s_per_page=elapsed / len(records) if records else None,
        init_s=init_s,
        peak_rss_mb=peak_rss_mb(),
    )


def evaluate_recognizer_by_lang(
    module: Any, kind: str, threads: int | None, records: list[ManifestRecord], t0: float
) -> RecResult:
    """``evaluate_recognizer`` (batch size 1) with one recogniser per crop language (records' ``lang``), for
    engines with PER_LANGUAGE; recognisers are built up front (``init_s``), one untimed warm-up on the first crop.
    """
    readers = {lang: module.recognizer(kind, threads, lang=lang) for lang in dict.fromkeys(_lang(r) for r in records)}
    init_s = time.perf_counter() - t0
    if records:
        readers[_lang(records[0])].recognize([records[0].load_image()])
    preds, confidences, elapsed = [], [], 0.0
    for record in records:
        image = record.load_image()
        t1 = time.perf_counter()
        (out,) = readers[_lang(record)].recognize([image])
        elapsed += time.perf_counter() - t1
        preds.append(out.text)
        confidences.append(float(out.confidence))
    return rec_result(
        [r.image for r in records],
        [r.text or "" for r in records],
        preds,
        confidences,
        record_langs(records),
        ms_per_item=1000 * elapsed / len(records) if records else None,
        init_s=init_s,
    )


def _lang(record: ManifestRecord) -> str:
    return str(record.extra.get("lang", "en"))


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
            if getattr(module, "PER_LANGUAGE", False) and any("lang" in r.extra for r in records):
                result = evaluate_recognizer_by_lang(module, bench_set.crop_kind, threads, records, t0)
            else:
                model = module.recognizer(bench_set.crop_kind, threads)
                init_s = time.perf_counter() - t0
                result = evaluate_recognizer(model, records, batch_size=1, init_s=init_s)
            row.update(result.to_json(), wer=round(result.scores.wer, 6))
        else:
            if getattr(module, "PER_LANGUAGE", False) and any("lang" in r.extra for r in records):
                result = evaluate_pages_by_lang(module, threads, records, bench_set.level, t0)
                init_s = result.init_s or 0.0
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
