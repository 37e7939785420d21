"""Render examples/sample.png, the page `make demo` reads (run: python examples/make_sample.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

LINES = [
    ("Invoice 2041", 40),
    ("", 0),
    ("Date: 14 March 2026", 26),
    ("Customer: Ada Lovelace", 26),
    ("", 0),
    ("2 x Notebook A5      7.90", 26),
    ("1 x Fountain pen    24.50", 26),
    ("Total due: EUR 40.30", 26),
    ("", 0),
    ("Thank you for your order!", 26),
]


def font_path(name: str) -> str:
    return subprocess.run(
        ["fc-match", "-f", "%{file}", name], capture_output=True, text=True, check=True
    ).stdout.strip()


def main() -> None:
    page = Image.new("RGB", (900, 620), "white")
    draw = ImageDraw.Draw(page)
    y = 50
    for text, size in LINES:
        if not text:
            y += 24
            continue
        font = ImageFont.truetype(font_path("DejaVu Sans:bold" if size > 30 else "DejaVu Sans"), size)
        draw.text((60, y), text, fill=(20, 20, 20), font=font)
        y += int(size * 1.6)
    out = Path(__file__).with_name("sample.png")
    page.save(out)
    print(out)


if __name__ == "__main__":
    main()
