"""The benchmark sets: their manifests under the shared data folder, and crop sets cut from pages."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from textlens.data.manifest import ManifestRecord, iter_manifest, write_manifest

CACHE = Path(__file__).resolve().parent / ".cache"
DEFAULT_CROP_LIMIT = 2000
REPO = Path(__file__).resolve().parent.parent
# Built from Debian packages by recipes/prepare_clean_print.py (git-ignored, never committed).
CLEAN_PRINT = REPO / "runs" / "clean-print"
# Built from the gettext catalogs of Debian's base packages by recipes/prepare_accented_lines.py (held out: never
# trained on; git-ignored, never committed).
ACCENTED_LINES = REPO / "runs" / "accented-lines"
# Built from the gettext catalogs of Debian packages by recipes/prepare_script_lines.py (held out: never trained on;
# git-ignored, never committed).
SCRIPT_LINES = REPO / "runs" / "script-lines"


@dataclass(frozen=True)
class BenchSet:
    """A recognition set (kind "rec": crops of ``crop_kind`` words or lines) or a page set (kind "page")."""

    name: str
    kind: str
    source: str  # manifest path relative to the data folder
    crop_kind: str = "word"  # rec sets: what one crop holds, which picks the peers' single-word/line modes
    level: str = "word"  # page sets: the ground truth's level
    cut_from_pages: bool = False  # rec sets cut from a page manifest's boxes into CACHE
    default: bool = True  # scored when --sets is not given
    build: str = ""  # how to build a set the bench builds itself (printed when it is missing)


SETS = {
    "ic13": BenchSet("ic13", "rec", "ic13/manifest_1015.jsonl"),
    "ic03": BenchSet("ic03", "rec", "ic03/manifest.jsonl"),
    "funsd_words": BenchSet("funsd_words", "rec", "funsd_train/manifest.jsonl", cut_from_pages=True),
    "sroie_lines": BenchSet("sroie_lines", "rec", "sroie_dev/manifest.jsonl", crop_kind="line", cut_from_pages=True),
    "funsd": BenchSet("funsd", "page", "funsd_train/manifest.jsonl", level="word"),
    "sroie": BenchSet("sroie", "page", "sroie_dev/manifest.jsonl", level="line"),
    # Clean print: born-digital Debian pages (Debian Reference, groff-rendered manual pages; en, es, it, pt, nl,
    # ro) rendered at 150/200/300 dpi; an absolute source, so --data does not move it. Pages carry `lang`.
    **{
        f"clean_print_{dpi}": BenchSet(
            f"clean_print_{dpi}",
            "page",
            str(CLEAN_PRINT / str(dpi) / "manifest.jsonl"),
            level="word",
            default=dpi != 150,
            build="python recipes/prepare_clean_print.py",
        )
        for dpi in (150, 200, 300)
    },
    # Accented Latin lines: real translated messages of 16 languages in held-out fonts, one line a crop; records
    # carry `lang`, so scores come per language and Tesseract reads each crop with that language's pack.
    "accented_lines": BenchSet(
        "accented_lines",
        "rec",
        str(ACCENTED_LINES / "manifest.jsonl"),
        crop_kind="line",
        build="python recipes/prepare_accented_lines.py",
    ),
    # Devanagari and Hangul lines: real translated messages in Hindi, Marathi, Nepali and Korean, drawn in the font
    # families training never uses (textlens.data.synth.scripts.HELDOUT_FAMILIES); records carry `lang`. Not a
    # default set until the crnn_deva and crnn_hangul packs are bundled (--lang hi/ko refuses without them).
    "script_lines": BenchSet(
        "script_lines",
        "rec",
        str(SCRIPT_LINES / "manifest.jsonl"),
        crop_kind="line",
        default=False,
        build="python recipes/prepare_script_lines.py",
    ),
}
DEFAULT_SETS = [name for name, s in SETS.items() if s.default]


def cut_crops(pages_manifest: Path, out_dir: Path, limit: int = DEFAULT_CROP_LIMIT) -> Path:
    """Cut the annotated boxes of a page manifest into crop images plus a crop manifest (first ``limit``).

    Don't-care words, empty texts and boxes under 2 px a side are skipped; a box is cut exactly
    (rounded outwards to whole pixels, clipped to the page), with no padding.
    """
    manifest = out_dir / "manifest.jsonl"
    if manifest.is_file():
        return manifest
    images = out_dir / "images"
    images.mkdir(parents=True, exist_ok=True)
    records: list[ManifestRecord] = []
    for page in iter_manifest(pages_manifest):
        if len(records) >= limit:
            break
        with Image.open(page.image) as im:
            rgb = im.convert("RGB")
            for word in page.words:
                x0, y0 = max(0, int(word.box[0])), max(0, int(word.box[1]))
                x1, y1 = min(rgb.width, math.ceil(word.box[2])), min(rgb.height, math.ceil(word.box[3]))
                if word.is_dont_care or not word.text.strip() or x1 - x0 < 2 or y1 - y0 < 2:
                    continue
                path = images / f"{len(records):05d}.png"
                rgb.crop((x0, y0, x1, y1)).save(path)
                records.append(ManifestRecord(image=path, kind="crop", text=word.text, extra={"page": page.image.name}))
                if len(records) >= limit:
                    break
    write_manifest(manifest, records)
    return manifest


def manifest_for(bench_set: BenchSet, data_dir: Path, crop_limit: int = DEFAULT_CROP_LIMIT) -> Path | None:
    """The manifest to score ``bench_set`` on, cutting crops on first use; None when its data is missing."""
    source = data_dir / bench_set.source
    if not source.is_file():
        return None
    if bench_set.cut_from_pages:
        return cut_crops(source, CACHE / f"{bench_set.name}_{crop_limit}", crop_limit)
    return source
