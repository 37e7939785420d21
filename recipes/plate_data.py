"""Synthetic plate data for recipes/extract_plate.sh: the held-out evaluation scenes, recogniser training crops,
and the contact sheet of docs/extraction-plates.png.

    python recipes/plate_data.py scenes OUT COUNT SEED      # images + manifest.jsonl (every plate face)
    python recipes/plate_data.py crops OUT COUNT SEED       # recogniser crops + manifest.jsonl (training faces)
    python recipes/plate_data.py sheet MANIFEST OUT.png     # scenes with the truth and the reading drawn
"""

from __future__ import annotations

import sys
from pathlib import Path


def sheet(manifest: Path, out: Path, count: int = 12) -> None:
    """A 4-column sheet of the first ``count`` scenes: the labelled plate box (green), the box read (red) and
    the reading, downscaled and in a palette to keep the file small."""
    import io

    import cv2
    import numpy as np
    from PIL import Image

    from textlens.extract.plate import PlateReader
    from textlens.extract.plate_eval import read_plate_records
    from textlens.io import load_image
    from textlens.io.atomic import atomic_write_bytes

    reader = PlateReader(threads=1)
    tiles = []
    for record in read_plate_records(manifest)[:count]:
        image = load_image(manifest.parent / record["image"]).image.copy()
        for truth in record["plates"]:
            x0, y0, x1, y1 = (int(v) for v in truth["box"])
            cv2.rectangle(image, (x0, y0), (x1, y1), (0, 200, 0), 2)
        for found in reader.read(image):
            x0, y0, x1, y1 = (int(v) for v in found.box)
            cv2.rectangle(image, (x0, y0), (x1, y1), (230, 30, 30), 2)
            label = f"{found.plate} {found.region} {found.confidence:.2f}"
            cv2.putText(image, label, (8, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (0, 0, 0), 5, cv2.LINE_AA)
            cv2.putText(image, label, (8, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255, 255, 255), 2, cv2.LINE_AA)
        tiles.append(cv2.resize(image, (300, 225), interpolation=cv2.INTER_AREA))
    while len(tiles) % 4:
        tiles.append(np.full_like(tiles[0], 255))
    grid = np.vstack([np.hstack(tiles[i : i + 4]) for i in range(0, len(tiles), 4)])
    # a palette of 96 colours keeps a sheet of photographs small enough for the repository (< 300 KB)
    buffer = io.BytesIO()
    Image.fromarray(grid).quantize(colors=96).save(buffer, format="PNG", optimize=True)
    atomic_write_bytes(out, buffer.getvalue())


def main(argv: list[str]) -> None:
    from textlens.extract.plate_synth import write_plate_crops, write_plate_set

    if len(argv) == 4 and argv[0] == "scenes":
        print(write_plate_set(Path(argv[1]), int(argv[2]), int(argv[3])))
    elif len(argv) == 4 and argv[0] == "crops":
        print(write_plate_crops(Path(argv[1]), int(argv[2]), int(argv[3])))
    elif len(argv) == 3 and argv[0] == "sheet":
        sheet(Path(argv[1]), Path(argv[2]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
