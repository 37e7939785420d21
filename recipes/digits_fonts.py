"""How a digit bundle reads digits set in installed fonts (handwriting-style ones among them): a check on a source
it never trained on. Fonts are not handwriting; the number says whether the input normalisation and the model carry
over to clean, other-shaped digits, not how well it reads people.

Usage: python recipes/digits_fonts.py BUNDLE [--devanagari] FONT_FILE...
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from textlens.models.digits_predict import load_digit_classifier

LATIN = "0123456789"
DEVANAGARI = "०१२३४५६७८९"


def render(char: str, font: ImageFont.FreeTypeFont, skew: float) -> np.ndarray:
    """One character dark on light paper, 96×96, slanted by ``skew``."""
    page = Image.new("L", (96, 96), 245)
    ImageDraw.Draw(page).text((48, 48), char, font=font, fill=20, anchor="mm")
    return np.asarray(page.transform(page.size, Image.Transform.AFFINE, (1, skew, -skew * 48, 0, 1, 0), fillcolor=245))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("bundle")
    parser.add_argument("fonts", nargs="+", type=Path)
    parser.add_argument("--devanagari", action="store_true")
    args = parser.parse_args()
    classifier = load_digit_classifier(args.bundle, threads=1)
    chars = DEVANAGARI if args.devanagari else LATIN
    report = {}
    for path in args.fonts:
        images, truth = [], []
        for size in (40, 56):
            font = ImageFont.truetype(str(path), size)
            for skew in (-0.15, 0.0, 0.2):
                for value, char in enumerate(chars):
                    images.append(render(char, font, skew))
                    truth.append(str(value))
        predicted = classifier(images)
        right = sum(p == t for p, t in zip(predicted, truth, strict=True))
        report[path.stem] = {"count": len(truth), "right": right, "accuracy": round(right / len(truth), 4)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
