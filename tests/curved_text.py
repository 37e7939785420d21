"""Synthetic curved and vertical text for the tests and recipes/curved_text_sheet.py: words drawn along an arc by
placing rotated glyphs, a word turned by 90°, and a word of stacked upright letters (PIL only, no data)."""

from __future__ import annotations

import math
import shutil
import subprocess

import numpy as np
from PIL import Image, ImageDraw, ImageFont


def font_path(family: str = "DejaVu Sans:bold") -> str | None:
    """A TrueType file for ``family`` through fontconfig, or None."""
    if shutil.which("fc-match") is None:
        return None
    path = subprocess.run(["fc-match", "-f", "%{file}", family], capture_output=True, text=True).stdout
    return path if path.endswith((".ttf", ".otf")) else None


def _glyph(char: str, font: ImageFont.FreeTypeFont, ink: tuple[int, int, int]) -> Image.Image:
    """One character on a transparent tile, its advance wide and the font's line high (baseline kept)."""
    ascent, descent = font.getmetrics()
    width = max(1, round(font.getlength(char)))
    tile = Image.new("RGBA", (width, ascent + descent), (0, 0, 0, 0))
    ImageDraw.Draw(tile).text((0, 0), char, font=font, fill=(*ink, 255))
    return tile


def draw_arc_text(
    page: Image.Image,
    text: str,
    centre: tuple[float, float],
    radius: float,
    font: ImageFont.FreeTypeFont,
    ink: tuple[int, int, int] = (20, 20, 20),
    upward: bool = True,
) -> list[tuple[float, float]]:
    """Draw ``text`` along a circle (``upward``: over its top, like a shop sign's arch; else under its bottom,
    a smile), each glyph turned to the tangent; returns the glyph centres."""
    widths = [font.getlength(c) for c in text]
    total = sum(widths)
    ascent, descent = font.getmetrics()
    mid_height = (ascent + descent) / 2
    # The text's middle line runs on the circle: its length, as an angle, centred on the top (or bottom).
    span = total / radius
    angle = (-math.pi / 2 - span / 2) if upward else (math.pi / 2 + span / 2)
    centres = []
    for char, width in zip(text, widths, strict=True):
        step = width / radius
        middle = angle + (step / 2 if upward else -step / 2)
        x = centre[0] + radius * math.cos(middle)
        y = centre[1] + radius * math.sin(middle)
        # Upward: the glyph's up is away from the centre; a smile: towards it.
        degrees = math.degrees(middle + math.pi / 2) if upward else math.degrees(middle - math.pi / 2)
        tile = _glyph(char, font, ink).rotate(-degrees, resample=Image.BICUBIC, expand=True)
        page.paste(tile, (round(x - tile.width / 2), round(y - tile.height / 2)), tile)
        centres.append((x, y))
        angle += step if upward else -step
    del mid_height
    return centres


def arc_page(text: str = "BAKERY", size: int = 56, radius: float = 190.0, upward: bool = True) -> np.ndarray | None:
    """A white page with ``text`` drawn along an arc (None without a font)."""
    path = font_path()
    if path is None:
        return None
    font = ImageFont.truetype(path, size)
    page = Image.new("RGB", (640, 420), "white")
    centre = (320, 300) if upward else (320, 60)
    draw_arc_text(page, text, centre, radius, font, upward=upward)
    return np.asarray(page)


def straight_page(text: str = "BAKERY", size: int = 56) -> np.ndarray | None:
    """The same word printed straight, for comparison."""
    path = font_path()
    if path is None:
        return None
    page = Image.new("RGB", (640, 220), "white")
    ImageDraw.Draw(page).text((120, 70), text, font=ImageFont.truetype(path, size), fill=(20, 20, 20))
    return np.asarray(page)


def turned_word_page(text: str = "HOTEL", size: int = 48, clockwise: bool = True) -> np.ndarray | None:
    """A word turned by 90° (reading down the page when ``clockwise``), as on a sign's side or a book spine."""
    path = font_path()
    if path is None:
        return None
    font = ImageFont.truetype(path, size)
    strip = Image.new("RGB", (round(font.getlength(text)) + 40, size + 40), "white")
    ImageDraw.Draw(strip).text((20, 14), text, font=font, fill=(20, 20, 20))
    strip = strip.rotate(-90 if clockwise else 90, expand=True)
    page = Image.new("RGB", (strip.width + 200, strip.height + 80), "white")
    page.paste(strip, (100, 40))
    return np.asarray(page)


def stacked_word_page(text: str = "HOTEL", size: int = 48, gap: float = 0.1) -> np.ndarray | None:
    """A word of upright letters stacked one above the other (a vertical sign), letters centred on one axis."""
    path = font_path()
    if path is None:
        return None
    font = ImageFont.truetype(path, size)
    step = round(size * (1 + gap))
    page = Image.new("RGB", (300, step * len(text) + 100), "white")
    draw = ImageDraw.Draw(page)
    for i, char in enumerate(text):
        draw.text((150, 50 + i * step), char, font=font, fill=(20, 20, 20), anchor="mt")
    return np.asarray(page)
