"""Write the label manifests the digit cards were measured on with ``textlens eval digits``:
runs/mnist_val (the last 5,000 MNIST training images as PNG files, the validation split) and runs/deva_heldout
(the held-out 20 % of the Devanagari numerals, by the same path hash as training; paths point into DATA).

Usage: python recipes/digits_manifests.py [DATA]   (DATA: the folder holding mnist/ and devanagari_digits/)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2

from textlens.data.digits import load_mnist_splits
from textlens.train.digits_data import held_out


def main() -> None:
    data = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data").resolve()
    splits = load_mnist_splits(data / "mnist")
    out = Path("runs/mnist_val")
    (out / "images").mkdir(parents=True, exist_ok=True)
    offset = len(splits.train_labels)
    with open(out / "manifest.jsonl", "w", encoding="utf-8") as fh:
        for i, (image, label) in enumerate(zip(splits.val_images, splits.val_labels, strict=True)):
            name = f"images/{offset + i:05d}.png"
            cv2.imwrite(str(out / name), image)
            fh.write(json.dumps({"image": name, "label": str(int(label))}) + "\n")
    source = data / "devanagari_digits"
    out = Path("runs/deva_heldout")
    out.mkdir(parents=True, exist_ok=True)
    lines = (source / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    with open(out / "manifest.jsonl", "w", encoding="utf-8") as fh:
        for line in lines:
            record = json.loads(line)
            if held_out(record["image"], 20):
                fh.write(json.dumps({"image": str(source / record["image"]), "label": record["label"]}) + "\n")


if __name__ == "__main__":
    main()
