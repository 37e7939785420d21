"""How often the page pipeline sets turned pages upright: pages of a manifest turned by 90, 180 and 270
degrees (clockwise) are read, and the turn the pipeline applies must undo it; upright pages must stay as
they are. Prints one JSON line per set.

Usage: python recipes/eval_orientation.py [--data ../shared/data] [--every 15] [--turns 0,90,180,270]
[--detector NAME]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from textlens import OCR
from textlens.pipeline import rotate_image

SETS = {"funsd_train": "funsd_train/manifest.jsonl", "sroie_dev": "sroie_dev/manifest.jsonl"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--every", type=int, default=15, help="take every N-th page of each set")
    parser.add_argument("--turns", default="0,90,180,270", help="clockwise turns to try, comma-separated")
    parser.add_argument("--detector", default=None, help="detector name or folder (default: the bundled default)")
    args = parser.parse_args()
    ocr = OCR(detector=args.detector, threads=1)
    for name, manifest in SETS.items():
        path = args.data / manifest
        if not path.is_file():
            print(json.dumps({"set": name, "skipped": f"{path} missing"}))
            continue
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        turns = [int(t) for t in args.turns.split(",")]
        right = dict.fromkeys(turns, 0)
        wrong: list[str] = []
        for row in rows[:: args.every]:
            image = cv2.cvtColor(cv2.imread(str(path.parent / row["image"])), cv2.COLOR_BGR2RGB)
            for turn in turns:
                page = ocr.read_page(np.ascontiguousarray(rotate_image(image, turn)))
                if (page.rotation + turn) % 360 == 0:
                    right[turn] += 1
                else:
                    wrong.append(f"{row['image']}@{turn}->{page.rotation}")
        pages = len(rows[:: args.every])
        detector = getattr(ocr.detector, "name", str(args.detector))
        print(json.dumps({"set": name, "pages": pages, "set_right": right, "wrong": wrong, "detector": detector}))


if __name__ == "__main__":
    main()
