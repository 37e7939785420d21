"""Exports of the annotated pages, under ``DIR/exports/``: ICDAR 2015 ground truth, a train/val split of the
manifest, and word crops as LMDB for recogniser training.

- ``icdar2015/``: each page's image and ``gt_<stem>.txt`` (UTF-8 with BOM, ``x1,y1,...,x4,y4,text``, ``###`` for
  don't-care), which ``open_dataset("icdar2015", ...)`` reads back.
- ``split/``: ``train.jsonl`` and ``val.jsonl``, manifests pointing at the pages in DIR; a page's side depends
  only on its name (a hash), so pages added later do not move the others.
- ``lmdb/``: ``train`` and ``val`` LMDB stores of the care words' crops (the train extra's ``lmdb``).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from textlens.data.manifest import ManifestRecord, read_manifest, write_manifest
from textlens.data.samples import CropSample
from textlens.errors import ConfigError
from textlens.io.atomic import atomic_write_text
from textlens.studio.store import MANIFEST_NAME

EXPORT_DIR = "exports"


def _pages(root: Path) -> list[ManifestRecord]:
    manifest = root / MANIFEST_NAME
    records = [r for r in read_manifest(manifest) if r.kind == "page"] if manifest.is_file() else []
    if not records:
        raise ConfigError("nothing to export: no page is annotated yet")
    return records


def _flat_name(root: Path, image: Path) -> str:
    return image.resolve().relative_to(root).as_posix().replace("/", "__")


def _quad(word: Any) -> list[tuple[float, float]]:
    if word.polygon is not None and len(word.polygon) == 4:
        return [(float(x), float(y)) for x, y in word.polygon]
    x0, y0, x1, y1 = word.box
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def export_icdar2015(root: Path) -> dict[str, Any]:
    """Write the pages as ICDAR 2015 task 1 ground truth; returns the folder and how many pages and words."""
    out = root / EXPORT_DIR / "icdar2015"
    out.mkdir(parents=True, exist_ok=True)
    pages = words = 0
    for record in _pages(root):
        name = _flat_name(root, record.image)
        shutil.copyfile(record.image, out / name)
        lines = []
        for word in record.words:
            coords = ",".join(str(round(v)) for point in _quad(word) for v in point)
            text = "###" if word.is_dont_care else word.text
            lines.append(f"{coords},{text}")
            words += 1
        atomic_write_text(out / f"gt_{Path(name).stem}.txt", "\ufeff" + "".join(line + "\n" for line in lines))
        pages += 1
    return {"folder": out.relative_to(root).as_posix(), "pages": pages, "words": words}


def is_val(name: str, val_fraction: float) -> bool:
    """Whether the page ``name`` belongs to the validation side (a stable hash of its name)."""
    digest = int.from_bytes(hashlib.sha1(name.encode()).digest()[:8], "big")
    return digest / 2**64 < val_fraction


def split_pages(root: Path, val_fraction: float) -> tuple[list[ManifestRecord], list[ManifestRecord]]:
    if not 0.0 <= val_fraction < 1.0:
        raise ConfigError(f"val_fraction must be in [0, 1), got {val_fraction}")
    train: list[ManifestRecord] = []
    val: list[ManifestRecord] = []
    for record in _pages(root):
        (val if is_val(record.image.resolve().relative_to(root).as_posix(), val_fraction) else train).append(record)
    return train, val


def export_split(root: Path, val_fraction: float = 0.1) -> dict[str, Any]:
    """Write ``train.jsonl`` and ``val.jsonl``; returns the folder and the page counts."""
    out = root / EXPORT_DIR / "split"
    train, val = split_pages(root, val_fraction)
    write_manifest(out / "train.jsonl", train)
    write_manifest(out / "val.jsonl", val)
    return {"folder": out.relative_to(root).as_posix(), "train": len(train), "val": len(val)}


def word_crops(records: list[ManifestRecord]) -> list[CropSample]:
    """The care words of ``records`` cut out by their boxes (the recogniser's training crops)."""
    crops = []
    for record in records:
        image = record.load_image()
        height, width = image.shape[:2]
        for word in record.words:
            if word.is_dont_care or not word.text.strip():
                continue
            x0, y0 = max(0, int(word.box[0])), max(0, int(word.box[1]))
            x1, y1 = min(width, round(word.box[2])), min(height, round(word.box[3]))
            if x1 - x0 >= 2 and y1 - y0 >= 2:
                crops.append(CropSample(image=image[y0:y1, x0:x1].copy(), text=word.text, source=str(record.image)))
    return crops


def export_lmdb(root: Path, val_fraction: float = 0.1) -> dict[str, Any]:
    """Write the word crops of each side as LMDB (``lmdb`` from the train extra); returns the crop counts."""
    try:
        import lmdb  # noqa: F401  (only to say what to install before any work is done)

        from textlens.data.lmdb_store import write_lmdb
    except ModuleNotFoundError as exc:
        raise ConfigError("LMDB export needs the lmdb package: pip install 'textlens[train]'") from exc
    out = root / EXPORT_DIR / "lmdb"
    train, val = split_pages(root, val_fraction)
    counts = {}
    for side, records in (("train", train), ("val", val)):
        target = out / side
        if target.exists():
            shutil.rmtree(target)
        counts[side] = write_lmdb(target, word_crops(records)) if records else 0
    return {"folder": out.relative_to(root).as_posix(), **counts}
