"""Measure a recogniser's capital bias: mixed-case phrases rendered clean in common fonts, cropped with growing
vertical margins, read back. Reports, per margin, exact accuracy and the share read as more capitals than truth.

usage: python recipes/case_probe.py [--model crnn_fast | FOLDER] [--phrases 300] [--trim-margin 0.15]
(--trim-margin: crops go through textlens.runtime.crops.trim_rows_to_ink first, as the page pipeline does)
"""

from __future__ import annotations

import argparse
import json
import subprocess

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from textlens.runtime.crops import trim_rows_to_ink
from textlens.runtime.loading import load_recognizer

FONTS = ["DejaVu Sans", "Liberation Serif", "Liberation Sans", "DejaVu Serif", "Roboto"]
WORDS = (  # noqa: SIM905 (a sentence of words reads better than a list literal)
    "Date Customer Notebook Fountain pen Total due Thank you for your order Invoice Address Phone Amount "
    "Number Signature Payment Name Company Report Account Description Quantity Price Subtotal Balance Page "
    "Street City Country Reference Delivery Ship to Bill to Terms Order Item Discount Tax Receipt Cashier "
    "Change Cash Visa Member Table Guest Server Welcome again Please keep this receipt"
).split()


def font_path(name: str) -> str:
    return subprocess.run(["fc-match", "-f", "%{file}", name], capture_output=True, text=True, check=True).stdout


def phrases(count: int, rng: np.random.Generator) -> list[str]:
    out = []
    for _ in range(count):
        words = [str(w) for w in rng.choice(WORDS, size=int(rng.integers(1, 4)))]
        words = [w.capitalize() if i == 0 or rng.random() < 0.3 else w.lower() for i, w in enumerate(words)]
        text = " ".join(words)
        out.append(text + ":" if rng.random() < 0.3 else text)
    return out


def render(text: str, font: str, pad: float) -> np.ndarray:
    face = ImageFont.truetype(font_path(font), 26)
    x0, y0, x1, y1 = face.getbbox(text)
    height = y1 - y0
    margin = round(pad * height)
    image = Image.new("L", (x1 - x0 + 12, height + 2 * margin), 255)
    ImageDraw.Draw(image).text((6 - x0, margin - y0), text, fill=20, font=face)
    return np.asarray(image.convert("RGB"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=None)
    parser.add_argument("--phrases", type=int, default=300)
    parser.add_argument("--trim-margin", type=float, default=None)
    args = parser.parse_args()
    recognizer = load_recognizer(args.model, threads=1)
    rng = np.random.default_rng(0)
    texts = phrases(args.phrases, rng)
    fonts = [FONTS[i % len(FONTS)] for i in range(len(texts))]
    rows = {}
    for pad in (0.05, 0.2, 0.4, 0.6):
        crops = [render(t, f, pad) for t, f in zip(texts, fonts, strict=True)]
        if args.trim_margin is not None:
            crops = [trim_rows_to_ink(c, margin=args.trim_margin) for c in crops]
        reads = [r.text for r in recognizer.recognize(crops)]
        exact = np.mean([r == t for r, t in zip(reads, texts, strict=True)])
        upper = np.mean(
            [sum(c.isupper() for c in r) > sum(c.isupper() for c in t) for r, t in zip(reads, texts, strict=True)]
        )
        rows[pad] = {"exact": round(100 * exact, 1), "more_capitals": round(100 * upper, 1)}
        print(f"pad {pad:.2f}: exact {100 * exact:5.1f} %  more capitals {100 * upper:5.1f} %", flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
