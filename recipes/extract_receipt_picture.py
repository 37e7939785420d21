"""The picture of docs/extraction.md: the bundled receipt extractor's fields drawn on a synthetic receipt.

Synthetic data only (textlens.extract.synthetic): no real receipt's pixels are drawn or committed.

    .venv/bin/python recipes/extract_receipt_picture.py --seed 3 --out docs/extraction-receipt.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from textlens.extract import get_extractor
from textlens.extract.draw import draw_fields
from textlens.extract.synthetic import synthetic_receipt
from textlens.io.atomic import atomic_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("docs/extraction-receipt.png"))
    args = parser.parse_args()
    image, document, truth = synthetic_receipt(args.seed)
    extraction = get_extractor("receipt").extract(document)
    with atomic_path(args.out) as tmp:
        draw_fields(image, extraction).save(tmp, optimize=True)
    print(json.dumps({"truth": truth, "found": extraction.values()}, indent=2))


if __name__ == "__main__":
    main()
