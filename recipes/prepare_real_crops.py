"""Cut word crops (FUNSD), line crops (SROIE) and FUNSD line crops from the allowed training splits.

The last pages of each set are held out (written to separate ``*_heldout`` manifests) so the model
card can report accuracy on pages the model never saw. ic13 and ic03 are never used for training.

FUNSD lines (``funsd_train_lines_*``) are its words grouped into lines by the document layout rules; see
``line_text`` for how spaces are restored (FUNSD also splits tokens at punctuation printed without a
space). They teach the recogniser the spaces of real forms, which single-word crops cannot.

    python recipes/prepare_real_crops.py --data ../shared/data --out runs/real-crops
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Callable
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


Region = tuple[str, tuple[float, float, float, float], str]  # (file-name key, box, text)


def word_regions(page: ManifestRecord, gray: np.ndarray) -> list[Region]:
    """Every annotated word of a page as it is."""
    return [
        (f"{i:04d}", word.box, word.text.strip())
        for i, word in enumerate(page.words)
        if not word.is_dont_care and word.text.strip()
    ]


def line_regions(page: ManifestRecord, gray: np.ndarray) -> list[Region]:
    """A page's words grouped into lines by the document layout rules, with their printed text."""
    from textlens.document import Word
    from textlens.layout import page_from_words
    from textlens.runtime.words import fit_to_ink

    # Gaps are measured between the words' ink: FUNSD's boxes are loose and often touch.
    words = [
        fit_to_ink(gray, Word(w.text.strip(), w.box), margin_fraction=0.0)
        for w in page.words
        if not w.is_dont_care and w.text.strip()
    ]
    regions = []
    for i, line in enumerate(page_from_words(words, width=gray.shape[1], height=gray.shape[0]).lines):
        text = line_text([(w.text, w.box) for w in line.words]) if len(line.words) > 1 else None
        if text is not None and line.box is not None:
            regions.append((f"line{i:03d}", line.box, text))
    return regions


def export_set(
    name: str,
    data: Path,
    out: Path,
    pad: float,
    jpeg_quality: int,
    regions: Callable[[ManifestRecord, np.ndarray], list[Region]] = word_regions,
    suffix: str = "",
) -> None:
    """Crops of ``regions`` of every page, train and held-out pages into separate crop manifests."""
    pages = read_manifest(data / name / "manifest.jsonl")
    split_at = len(pages) - HELD_OUT[name]
    for part, chunk in (("train", pages[:split_at]), ("heldout", pages[split_at:])):
        folder = out / f"{name}{suffix}_{part}"
        (folder / "images").mkdir(parents=True, exist_ok=True)
        records = []
        missing = [page for page in chunk if not page.image.exists()]
        if missing:  # e.g. a device pack that leaves out the held-out pages' images
            print(f"{folder}: {len(missing)} of {len(chunk)} pages skipped, image missing (first: {missing[0].image})")
        for page in chunk:
            if not page.image.exists():
                continue
            gray = cv2.cvtColor(read_rgb(page.image), cv2.COLOR_RGB2GRAY)
            for key, box, text in regions(page, gray):
                crop = cut(gray, box, pad)
                if crop is None:
                    continue
                path = folder / "images" / f"{page.image.stem}_{key}.jpg"
                cv2.imwrite(str(path), crop, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
                records.append(ManifestRecord(image=path, kind="crop", text=text))
        write_manifest(folder / "manifest.jsonl", records)
        print(f"{folder}: {len(records)} crops from {len(chunk)} pages")


def joiner(prev: str, word: str, gap: float, height: float) -> str:
    """The separator printed between two neighbouring FUNSD tokens: a space or nothing.

    FUNSD splits tokens at punctuation printed without a space ("SUGGESTION/" "SOLUTION"). ``gap`` is the
    white between the two tokens' ink: slashes, hyphens, brackets and a following colon, comma or full stop
    join up to 0.6 line heights apart (a typewriter gives them a full cell); other neighbours need 0.15 line
    heights to be separate words.
    """
    if gap > 0.6 * height:
        return " "
    if prev[-1] in "/-(" or word[0] in "/-):;,.":
        return ""
    return " " if gap > 0.15 * height else ""


def line_text(words: list[tuple[str, tuple[float, float, float, float]]]) -> str | None:
    """Words of one line, left to right, joined as printed (see ``joiner``); None when the grouping looks
    wrong: words overlapping sideways or wandering off one baseline (two physical lines grouped as one)."""
    height = float(np.median([b[3] - b[1] for _, b in words]))
    centres = np.array([(b[1] + b[3]) / 2 for _, b in words])
    if np.abs(centres - np.median(centres)).max() > 0.35 * height:
        return None
    text = words[0][0]
    for (prev_text, prev), (word, box) in itertools.pairwise(words):
        gap = box[0] - prev[2]
        if gap < -0.2 * height:
            return None
        text += joiner(prev_text, word, gap, height) + word
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("runs/real-crops"))
    parser.add_argument("--pad", type=float, default=0.1, help="padding around each box, × its height")
    parser.add_argument("--jpeg-quality", type=int, default=92)
    args = parser.parse_args()
    for name in HELD_OUT:
        export_set(name, args.data, args.out, args.pad, args.jpeg_quality)
    export_set("funsd_train", args.data, args.out, args.pad, args.jpeg_quality, line_regions, "_lines")


if __name__ == "__main__":
    main()
