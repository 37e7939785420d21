"""Split the scene data: ic15_train word crops into a training part and a held-out part, and the ic03_scene
photos into a training part (detector fine-tuning) and a dev part (scene detection and end-to-end scores).

The held-out parts are fixed here, before any training, by the SHA-256 of each file name: an ic15_train crop in
the lowest eighth is held out (about 560 of 4,468 crops); an ic03_scene photo is in the training part when its
first digest byte is divisible by 3 (about a third, ~83 of 249), else in the dev part. iiit5k_train is training
data whole. The manifests point at the files in ../shared/data (nothing is copied).

    python recipes/prepare_scene_crops.py --data ../shared/data --out runs/scene-crops

writes ``ic15_train_train/``, ``ic15_train_heldout/``, ``iiit5k_train/``, ``ic03_scene_train/`` and
``ic03_scene_dev/`` (one ``manifest.jsonl`` each).
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


def scene_photo_for_training(image: Path) -> bool:
    """Whether an ic03_scene photo belongs to the training part (a third); the rest is the dev part."""
    return hashlib.sha256(image.name.encode("utf-8")).digest()[0] % 3 == 0


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
    photos = list(read_manifest(args.data / "ic03_scene" / "manifest.jsonl"))
    counts = {
        "ic15_train_train": write_split(train, args.out / "ic15_train_train"),
        "ic15_train_heldout": write_split(heldout, args.out / "ic15_train_heldout"),
        "iiit5k_train": write_split(iiit5k, args.out / "iiit5k_train"),
        "ic03_scene_train": write_split(
            [r for r in photos if scene_photo_for_training(r.image)], args.out / "ic03_scene_train"
        ),
        "ic03_scene_dev": write_split(
            [r for r in photos if not scene_photo_for_training(r.image)], args.out / "ic03_scene_dev"
        ),
    }
    for name, count in counts.items():
        print(f"{name}: {count} {'photos' if name.startswith('ic03') else 'crops'}")


if __name__ == "__main__":
    main()
