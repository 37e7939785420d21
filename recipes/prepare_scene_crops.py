"""Split the scene word crops for recogniser training: ic15_train into a training part and a held-out part.

The held-out part is fixed here, before any training: every ic15_train crop whose file name hashes (SHA-256)
into the lowest eighth is held out (about 560 of 4,468 crops), the rest is training data. iiit5k_train is
training data whole. The manifests point at the crops in ../shared/data (nothing is copied).

    python recipes/prepare_scene_crops.py --data ../shared/data --out runs/scene-crops

writes ``ic15_train_train/``, ``ic15_train_heldout/`` and ``iiit5k_train/`` (one ``manifest.jsonl`` each).
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from textlens.data.manifest import ManifestRecord, read_manifest, write_manifest

HELD_OUT_EIGHTHS = 1  # of 8


def held_out(image: Path) -> bool:
    """Whether a crop belongs to the held-out part: decided by its file name alone, so it never changes."""
    digest = hashlib.sha256(image.name.encode("utf-8")).digest()
    return digest[0] % 8 < HELD_OUT_EIGHTHS


def write_split(records: list[ManifestRecord], folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    write_manifest(folder / "manifest.jsonl", records)  # image paths are written relative to the folder
    return len(records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("runs/scene-crops"))
    args = parser.parse_args()
    ic15 = list(read_manifest(args.data / "ic15_train" / "manifest.jsonl"))
    train = [r for r in ic15 if not held_out(r.image)]
    heldout = [r for r in ic15 if held_out(r.image)]
    iiit5k = list(read_manifest(args.data / "iiit5k_train" / "manifest.jsonl"))
    counts = {
        "ic15_train_train": write_split(train, args.out / "ic15_train_train"),
        "ic15_train_heldout": write_split(heldout, args.out / "ic15_train_heldout"),
        "iiit5k_train": write_split(iiit5k, args.out / "iiit5k_train"),
    }
    for name, count in counts.items():
        print(f"{name}: {count} crops")


if __name__ == "__main__":
    main()
