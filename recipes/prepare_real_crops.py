"""Cut word crops (FUNSD) and line crops (SROIE) from the allowed training splits into crop manifests.

The last pages of each set are held out (written to separate ``*_heldout`` manifests) so the model
card can report accuracy on pages the model never saw. ic13 and ic03 are never used for training.

    python recipes/prepare_real_crops.py --data ../shared/data --out runs/real-crops
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from textlens.data.manifest import ManifestRecord, read_manifest, read_rgb, write_manifest

HELD_OUT = {"funsd_train": 20, "sroie_dev": 30}  # the last N pages of each set


def cut(image: np.ndarray, box: tuple[float, ...], pad: float) -> np.ndarray | None:
    x0, y0, x1, y1 = box
    h = y1 - y0
    if h < 4 or x1 - x0 < 2:
        return None
    p = pad * h
    xa, ya = max(0, int(x0 - p)), max(0, int(y0 - p))
    xb, yb = min(image.shape[1], int(np.ceil(x1 + p))), min(image.shape[0], int(np.ceil(y1 + p)))
    crop = image[ya:yb, xa:xb]
    return crop if crop.size else None


def export_set(name: str, data: Path, out: Path, pad: float, jpeg_quality: int) -> None:
    pages = read_manifest(data / name / "manifest.jsonl")
    split_at = len(pages) - HELD_OUT[name]
    for part, chunk in (("train", pages[:split_at]), ("heldout", pages[split_at:])):
        folder = out / f"{name}_{part}"
        (folder / "images").mkdir(parents=True, exist_ok=True)
        records = []
        for page in chunk:
            image = cv2.cvtColor(read_rgb(page.image), cv2.COLOR_RGB2GRAY)
            for i, word in enumerate(page.words):
                if word.is_dont_care or not word.text.strip():
                    continue
                crop = cut(image, word.box, pad)
                if crop is None:
                    continue
                path = folder / "images" / f"{page.image.stem}_{i:04d}.jpg"
                cv2.imwrite(str(path), crop, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
                records.append(ManifestRecord(image=path, kind="crop", text=word.text.strip()))
        write_manifest(folder / "manifest.jsonl", records)
        print(f"{folder}: {len(records)} crops from {len(chunk)} pages")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("runs/real-crops"))
    parser.add_argument("--pad", type=float, default=0.1, help="padding around each box, × its height")
    parser.add_argument("--jpeg-quality", type=int, default=92)
    args = parser.parse_args()
    for name in HELD_OUT:
        export_set(name, args.data, args.out, args.pad, args.jpeg_quality)


if __name__ == "__main__":
    main()
