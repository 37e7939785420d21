"""Read the SROIE dev receipts with textlens's own OCR once and cache each Document as JSON under runs/.

Retraining the receipt extractor then reads the cache instead of re-running OCR. The cache holds our OCR's
output only (text and boxes), never the labels or the pixels; runs/ is not committed.

    OMP_NUM_THREADS=1 .venv/bin/python recipes/extract_receipt_cache.py \
        --manifest ../shared/data/sroie_dev/manifest.jsonl --out runs/extract_receipt/ocr
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from textlens.io.atomic import atomic_write_text
from textlens.pipeline import OCR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("runs/extract_receipt/ocr"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--order", default="", help="comma-separated record indices to read first")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    records = [json.loads(line) for line in args.manifest.read_text().splitlines() if line.strip()]
    first = [int(i) for i in args.order.split(",") if i]
    order = first + [i for i in range(len(records)) if i not in set(first)]
    ocr = OCR(threads=args.threads)
    for i in order:
        image = args.manifest.parent / records[i]["image"]
        target = args.out / (Path(records[i]["image"]).stem + ".json")
        if target.exists():
            continue
        started = time.perf_counter()
        doc = ocr.read(image)
        seconds = time.perf_counter() - started
        payload = {"image": records[i]["image"], "read_s": round(seconds, 3), "document": doc.to_dict()}
        atomic_write_text(target, json.dumps(payload))
        print(f"{records[i]['image']} {seconds:.2f}s", flush=True)


if __name__ == "__main__":
    main()
