"""Pictures of extracted fields: each field's word boxes outlined on the page, its name and value beside them."""

from __future__ import annotations

from typing import Any

import numpy as np

from textlens.extract.base import Extraction

COLOURS = {"company": (214, 39, 40), "address": (31, 119, 180), "date": (44, 160, 44), "total": (148, 103, 189),
           "currency": (255, 127, 14)}  # fmt: skip


def draw_fields(image: np.ndarray, extraction: Extraction, panel: int = 300) -> Any:
    """The page with each found field's boxes outlined in its colour, and a panel on the right listing the fields
    (name, value, confidence). Returns a PIL image."""
    from PIL import Image, ImageDraw, ImageFont

    page = Image.fromarray(np.ascontiguousarray(image[..., :3])).convert("RGB")
    out = Image.new("RGB", (page.width + panel, page.height), (255, 255, 255))
    out.paste(page, (0, 0))
    draw = ImageDraw.Draw(out)
    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 14)
    except OSError:
        font = ImageFont.load_default()
    y = 16
    for name, f in extraction.fields.items():
        colour = COLOURS.get(name, (80, 80, 80))
        for x0, y0, x1, y1 in f.boxes:
            draw.rectangle((x0 - 3, y0 - 3, x1 + 3, y1 + 3), outline=colour, width=2)
        if f.boxes:
            x0, y0 = f.boxes[0][0], f.boxes[0][1]
            draw.text((max(x0 - 3, 0), max(y0 - 18, 0)), name, fill=colour, font=font)
        draw.text((page.width + 12, y), f"{name} ({f.confidence:.2f})", fill=colour, font=font)
        y += 18
        value = f.value if f.value is not None else "—"
        for start in range(0, max(len(value), 1), 32):
            draw.text((page.width + 24, y), value[start : start + 32], fill=(20, 20, 20), font=font)
            y += 18
        y += 8
    return out
