"""Synthetic receipts with known fields: an image, the Document a perfect reader would return, and the truth.

For tests and the pictures in docs/extraction.md; no real receipt's text or pixels. The words' boxes are where
the text is drawn, so the fields an extractor finds can be drawn back on the image.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np

from textlens.document import Block, Document, Line, Page, Word

COMPANIES = ("KEDAI MAJU TRADING SDN BHD", "SINAR JAYA ENTERPRISE", "RESTORAN SELERA KITA", "PASAR MINI BAHAGIA",
             "GLOBAL HARDWARE SDN. BHD.", "MEGA STATIONERY & BOOKS")  # fmt: skip
STREETS = ("NO. 12, JALAN BESAR,", "LOT 7, JALAN MERANTI 3,", "NO 45-G, JALAN SS 2/8,", "12A, JALAN KENANGA,")
AREAS = ("TAMAN MAJU,", "TAMAN SRI INDAH,", "BANDAR BARU,", "KAWASAN PERINDUSTRIAN SEJATI,")
CITIES = ("81100 JOHOR BAHRU, JOHOR.", "47400 PETALING JAYA, SELANGOR.", "43300 SERI KEMBANGAN, SELANGOR",
          "50450 KUALA LUMPUR")  # fmt: skip
ITEMS = ("MINERAL WATER 500ML", "A4 PAPER 80GSM", "NASI LEMAK", "TEH TARIK", "BATTERY AA 4PCS", "GLUE STICK")
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")


def _font(size: int) -> Any:
    from PIL import ImageFont

    if FONT.is_file():
        return ImageFont.truetype(str(FONT), size)
    return ImageFont.load_default(size=size)


def synthetic_receipt(seed: int = 0, width: int = 480) -> tuple[np.ndarray, Document, dict[str, str]]:
    """A receipt image, its Document (word boxes where the words are drawn) and its fields as printed."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    company = rng.choice(COMPANIES)
    address_lines = [rng.choice(STREETS), rng.choice(AREAS), rng.choice(CITIES)]
    day, month, year = rng.randint(1, 28), rng.randint(1, 12), rng.choice((2017, 2018, 2019))
    date = f"{day:02d}/{month:02d}/{year}"
    items = [(rng.choice(ITEMS), rng.randint(1, 3), rng.randint(100, 3000) / 100) for _ in range(rng.randint(2, 4))]
    total = sum(q * p for _, q, p in items)
    rounded = round(total * 20) / 20  # to five sen
    rows: list[tuple[str, list[tuple[str, str]], int]] = []  # (block, [(text, align)], font size)
    rows.append(("head", [(company, "center")], 22))
    rows.append(("head", [(f"({rng.randint(100000, 999999)}-{rng.choice('ADKPTW')})", "center")], 16))
    rows += [("head", [(line, "center")], 16) for line in address_lines]
    rows.append(("head", [(f"TEL: 0{rng.randint(3, 9)}-{rng.randint(1000000, 9999999)}", "center")], 16))
    rows.append(("info", [("TAX INVOICE", "center")], 18))
    rows.append(("info", [(f"DATE: {date} {rng.randint(8, 21):02d}:{rng.randint(0, 59):02d}", "left")], 16))
    rows.append(("info", [(f"CASHIER: {rng.choice(('AINA', 'LEE', 'RAJ'))}", "left")], 16))
    for name, qty, price in items:
        rows.append(("items", [(name, "left")], 16))
        rows.append(("items", [(f"{qty} X {price:.2f}", "left"), (f"{qty * price:.2f}", "right")], 16))
    rows.append(("sums", [("TOTAL", "left"), (f"{total:.2f}", "right")], 16))
    rows.append(("sums", [("ROUNDING ADJ", "left"), (f"{rounded - total:.2f}", "right")], 16))
    rows.append(("sums", [("TOTAL ROUNDED (RM)", "left"), (f"{rounded:.2f}", "right")], 18))
    cash = float(int(rounded) + 10)
    rows.append(("sums", [("CASH", "left"), (f"{cash:.2f}", "right")], 16))
    rows.append(("sums", [("CHANGE", "left"), (f"{cash - rounded:.2f}", "right")], 16))
    rows.append(("foot", [("THANK YOU, PLEASE COME AGAIN", "center")], 16))
    height = 40 + sum(int(size * 1.7) for _, _, size in rows) + 40
    image = Image.new("RGB", (width, height), (250, 250, 246))
    draw = ImageDraw.Draw(image)
    blocks: dict[str, list[Line]] = {}
    y = 40
    for block, parts, size in rows:
        font = _font(size)
        for text, align in parts:
            text_w = draw.textlength(text, font=font)
            x = {"left": 24, "center": (width - text_w) / 2, "right": width - 24 - text_w}[align]
            words = []
            cursor = x
            for k, token in enumerate(text.split(" ")):
                if k:
                    cursor += draw.textlength(" ", font=font)
                draw.text((cursor, y), token, font=font, fill=(20, 20, 30))
                x0, y0, x1, y1 = draw.textbbox((cursor, y), token, font=font)
                words.append(Word(token, (float(x0), float(y0), float(x1), float(y1)), 0.99))
                cursor += draw.textlength(token, font=font)
            blocks.setdefault(block, []).append(Line(tuple(words)))
        y += int(size * 1.7)
    page = Page(width=width, height=height, blocks=tuple(Block(tuple(lines)) for lines in blocks.values()),
                source=f"synthetic-receipt-{seed}")  # fmt: skip
    truth = {"company": company, "date": date, "address": " ".join(address_lines), "total": f"{rounded:.2f}"}
    return np.asarray(image), Document(pages=(page,)), truth
