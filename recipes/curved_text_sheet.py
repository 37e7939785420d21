"""docs/curved-text.png: curved and vertical text read by the default pipeline, from synthetic text only.

Usage: OMP_NUM_THREADS=1 python recipes/curved_text_sheet.py [--out docs/curved-text.png]

Four pages drawn with DejaVu Sans Bold (tests/curved_text.py): a word along an arch, one along a smile, a word
turned by 90° and a word of stacked upright letters. Each is read with ``OCR()`` (bundled models, one thread) and
drawn with the overlay writer (word polygons coloured by confidence, the text above); under the arch, the strip
the recogniser read (the region's band straightened). Prints what each page read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.curved_text import arc_page, stacked_word_page, turned_word_page
from textlens.io.write.overlay import render_page
from textlens.pipeline import OCR, rotate_image
from textlens.runtime.curved import rectify_band


def _fit(image: Image.Image, height: int) -> Image.Image:
    return image.resize((max(1, round(image.width * height / image.height)), height), Image.LANCZOS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/curved-text.png"))
    args = parser.parse_args()
    ocr = OCR(threads=1)
    pages = {
        "arch": arc_page("BAKERY"),
        "smile": arc_page("FRESH BREAD", size=44, radius=230, upward=False),
        "turned": turned_word_page("HOTEL"),
        "stacked": stacked_word_page("HOTEL", size=44),
    }
    if any(p is None for p in pages.values()):
        raise SystemExit("DejaVu Sans Bold is needed (fc-match 'DejaVu Sans:bold')")
    tiles, strip = [], None
    for name, image in pages.items():
        page = ocr.read_page(image)
        words = [w for b in page.blocks for line in b.lines for w in line.words]
        print(
            f"{name}: rotation {page.rotation}, "
            + ", ".join(f"{w.text!r} ({len(w.polygon or ())} points)" for w in words)
        )
        tiles.append(_fit(render_page(page, rotate_image(image, page.rotation)).convert("RGB"), 300))
        if name == "arch":
            bands = [d.curve for d in ocr.detect(image) if d.curve is not None]
            strip = Image.fromarray(rectify_band(image, bands[0])) if bands else None
    width = sum(t.width for t in tiles) + 10 * (len(tiles) + 1)
    sheet = Image.new("RGB", (width, 300 + 20 + (90 if strip else 0)), "white")
    x = 10
    for tile in tiles:
        sheet.paste(tile, (x, 10))
        x += tile.width + 10
    if strip is not None:
        small = _fit(strip, 60)
        sheet.paste(small, (10, 320))
        ImageDraw.Draw(sheet).text(
            (20 + small.width, 340), "the arch's band, straightened for the recogniser", fill="black"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.convert("P", palette=Image.ADAPTIVE, colors=256).save(args.out, optimize=True)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
