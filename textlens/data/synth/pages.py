"""Synthetic pages for detection and end-to-end training: documents, receipts, business cards and scenes
(procedural signs, or text on photographs: ``scene_photo``).

Text is drawn word by word into an ink mask so every word's box is known; a page-level homography (a photo of
the page, a sign seen at an angle) moves the word quadrilaterals with it, so each ``WordAnnotation`` has a box
and a polygon, plus ``extra["line"]`` (words of one text line share it) to group words into lines.

One module for every page kind on purpose: the kinds share the word drawing, the annotation and the page
homography, and differ only in a few layout functions each.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from textlens.data.charset import LATIN
from textlens.data.samples import PageSample, WordAnnotation
from textlens.data.synth import scene_photo as photo
from textlens.data.synth.backgrounds import BackgroundIndex, default_index
from textlens.data.synth.degrade import degrade_image, degrade_ink
from textlens.data.synth.fonts import FontInfo, select_fonts
from textlens.data.synth.presets import PRESETS, Preset
from textlens.data.synth.render import FontCache, choose, composite, ladder_size, make_background, sample_colours
from textlens.data.synth.text import TextSampler
from textlens.errors import ConfigError
from textlens.geometry import order_quad

PAGE_KINDS = ("document", "receipt", "card", "scene")
# Kinds that need installed background pictures (``make scene-deps``, textlens.data.synth.backgrounds).
PHOTO_PAGE_KINDS = ("scene_photo",)
MIXED_PAGE_WEIGHTS = {"document": 0.35, "receipt": 0.25, "card": 0.15, "scene": 0.25}
# scene_photo: font categories (the display faces hold the script, sketch, rounded and condensed designs)
PHOTO_FONT_MIX = {"display": 0.4, "sans": 0.3, "serif": 0.2, "mono": 0.1}
_MIN_VISIBLE = 0.6  # a word with less of its box inside the image is marked don't-care


@dataclass
class _Word:
    text: str
    quad: np.ndarray  # 4×2 float32, clockwise from top-left, in page pixels
    line: int


@dataclass
class InkLayer:
    """An alpha mask being written on, with the words drawn so far."""

    width: int
    height: int
    mask: Image.Image = field(init=False)
    draw: ImageDraw.ImageDraw = field(init=False)
    words: list[_Word] = field(default_factory=list)
    next_line: int = 0

    def __post_init__(self) -> None:
        self.mask = Image.new("L", (self.width, self.height), 0)
        self.draw = ImageDraw.Draw(self.mask)

    def new_line(self) -> int:
        self.next_line += 1
        return self.next_line - 1

    def word(
        self, xy: tuple[float, float], text: str, font: ImageFont.FreeTypeFont, line: int, stroke: int = 0
    ) -> float:
        """Draw one word at ``xy`` (top-left of the line box); returns its advance width."""
        self.draw.text(xy, text, font=font, fill=255, stroke_width=stroke, stroke_fill=255)
        x0, y0, x1, y1 = self.draw.textbbox(xy, text, font=font, stroke_width=stroke)
        if x1 > x0 and y1 > y0:
            quad = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)
            self.words.append(_Word(text, quad, line))
        return float(font.getlength(text))

    def line_of_words(
        self,
        xy: tuple[float, float],
        words: Sequence[str],
        font: ImageFont.FreeTypeFont,
        stroke: int = 0,
        space: float | None = None,
        line: int | None = None,
    ) -> float:
        """Draw words separated by spaces as one line (a new one unless ``line`` is given); returns its width."""
        line = self.new_line() if line is None else line
        gap = font.getlength(" ") if space is None else space
        x, y = xy
        for w in words:
            x += self.word((x, y), w, font, line, stroke) + gap
        return x - gap - xy[0]


class PageRenderer:
    """Renders annotated synthetic pages of a ``kind``: document, receipt, card, scene, scene_photo or mixed.

    ``scene_photo`` draws on photographs from ``backgrounds``: a ``BackgroundIndex``, folders of pictures, or
    (default) the installed wallpapers (``textlens.data.synth.backgrounds.default_index``).
    """

    def __init__(
        self,
        kind: str = "mixed",
        seed: int = 0,
        fonts: str | Sequence[str] = "train",
        charset: str | None = None,
        backgrounds: BackgroundIndex | Sequence[str | Path] | str | None = None,
    ) -> None:
        kinds = (*PAGE_KINDS, *PHOTO_PAGE_KINDS, "mixed")
        if kind not in kinds:
            raise ConfigError(f"unknown page kind {kind!r}; choose one of {', '.join(kinds)}")
        self.kind = kind
        self.seed = seed
        self.charset = charset or LATIN
        self.fonts: list[FontInfo] = select_fonts(fonts, charset=charset)
        full = frozenset(self.charset)
        self._fonts_full = [f for f in self.fonts if all(ord(c) in f.codepoints for c in full if c.isalnum())]
        self._fonts_full = self._fonts_full or self.fonts
        self._mono = [f for f in self._fonts_full if f.category == "mono"] or self._fonts_full
        self._cache = FontCache(256)
        self._counter = 0
        self.words = TextSampler(
            self.charset,
            {"word": 0.5, "common": 0.5},
            {"keep": 0.85, "title": 0.1, "upper": 0.05},
            max_chars=18,
        )
        self.values = TextSampler(
            self.charset,
            {
                "number": 1,
                "price": 1,
                "date": 1,
                "phone": 0.5,
                "email": 0.3,
                "code": 1,
                "word": 1,
                "time": 0.3,
            },
            max_chars=24,
        )
        self.receipt = TextSampler(self.charset, PRESETS["receipt"].text_mix, PRESETS["receipt"].case_mix, 40)
        self._by_category = {cat: [f for f in self._fonts_full if f.category == cat] for cat in PHOTO_FONT_MIX}
        self._allowed: dict[str, frozenset[str]] = {}
        self.backgrounds: BackgroundIndex | None = None
        if kind in PHOTO_PAGE_KINDS:
            self.scene_text = TextSampler(
                self.charset, PRESETS["scene"].text_mix, {"keep": 0.5, "lower": 0.1, "title": 0.2, "upper": 0.2}, 16
            )
            if isinstance(backgrounds, BackgroundIndex):
                self.backgrounds = backgrounds
            elif backgrounds is None:
                self.backgrounds = default_index()
            else:
                dirs = [backgrounds] if isinstance(backgrounds, str | Path) else list(backgrounds)
                self.backgrounds = BackgroundIndex(dirs)
            if not len(self.backgrounds):
                dirs_text = ", ".join(str(d) for d in self.backgrounds.dirs)
                raise ConfigError(
                    f"page kind {kind!r} needs background pictures without text; none found under {dirs_text}: "
                    "run `make scene-deps` (Debian's wallpaper packages) or set TEXTLENS_BACKGROUNDS"
                )

    def __getstate__(self) -> dict[str, object]:
        return {**self.__dict__, "_cache": None}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._cache = FontCache(256)

    def _font(
        self, rng: np.random.Generator, size: float, pool: Sequence[FontInfo] | None = None
    ) -> ImageFont.FreeTypeFont:
        pool = pool or self._fonts_full
        return self._cache.get(pool[int(rng.integers(len(pool)))].path, max(6, round(size)))

    def sample(self, rng: np.random.Generator | None = None) -> PageSample:
        if rng is None:
            rng = np.random.default_rng([self.seed, self._counter])
            self._counter += 1
        kind = self.kind if self.kind != "mixed" else choose(rng, MIXED_PAGE_WEIGHTS)
        return {
            "document": self._document,
            "receipt": self._receipt,
            "card": self._card,
            "scene": self._scene,
            "scene_photo": self._scene_photo,
        }[kind](rng)

    def sample_at(self, index: int, seed: int | None = None) -> PageSample:
        """Page ``index`` of the run seeded ``seed`` (default: the renderer's)."""
        return self.sample(np.random.default_rng([self.seed if seed is None else seed, index]))

    # --- text helpers ---------------------------------------------------------------------------------------
    def _words(self, rng: np.random.Generator, n: int) -> list[str]:
        return [self.words.sample(rng) for _ in range(n)]

    def _paragraph(
        self,
        ink: InkLayer,
        rng: np.random.Generator,
        box: tuple[float, float, float, float],
        font: ImageFont.FreeTypeFont,
        leading: float,
    ) -> float:
        """Fill ``box`` (x0, y0, x1, y1) with wrapped lines; returns the y after the paragraph."""
        x0, y, x1, y1 = box
        ascent, descent = font.getmetrics()
        line_h = (ascent + descent) * leading
        space = font.getlength(" ")
        n_lines = int(rng.integers(2, 9))
        for i in range(n_lines):
            if y + line_h > y1:
                break
            line = ink.new_line()
            x = x0 + (space * 3 if i == 0 and rng.random() < 0.4 else 0)
            while True:
                w = self.words.sample(rng)
                if rng.random() < 0.1:
                    w += str(choose(rng, {",": 3, ".": 2, ";": 0.5, ":": 0.5}))
                width = font.getlength(w)
                if x + width > x1:
                    break
                x += ink.word((x, y), w, font, line) + space
            y += line_h
            if i == n_lines - 1 or rng.random() < 0.05:
                break
        return y + line_h * 0.6

    # --- kinds ----------------------------------------------------------------------------------------------
    def _document(self, rng: np.random.Generator) -> PageSample:
        w = int(rng.integers(640, 1000))
        h = int(w * rng.uniform(1.25, 1.42))
        ink = InkLayer(w, h)
        margin = w * rng.uniform(0.06, 0.12)
        body = float(rng.uniform(11, 19)) * w / 800
        font = self._font(rng, body)
        y = margin
        title = self._font(rng, body * rng.uniform(1.4, 2.2))
        ink.line_of_words((margin, y), self._words(rng, int(rng.integers(1, 5))), title, stroke=int(rng.random() < 0.4))
        y += sum(title.getmetrics()) * 1.8
        columns = 2 if rng.random() < 0.25 else 1
        col_w = (w - 2 * margin - (columns - 1) * margin * 0.5) / columns
        blocks = ["para", "para", "form", "table", "heading", "items"]
        for col in range(columns):
            cx = margin + col * (col_w + margin * 0.5)
            cy = y
            while cy < h - margin - body * 3:
                block = blocks[int(rng.integers(len(blocks)))]
                if block == "para":
                    cy = self._paragraph(ink, rng, (cx, cy, cx + col_w, h - margin), font, rng.uniform(1.1, 1.6))
                elif block == "heading":
                    hf = self._font(rng, body * rng.uniform(1.1, 1.5))
                    ink.line_of_words((cx, cy), self._words(rng, int(rng.integers(1, 4))), hf, stroke=1)
                    cy += sum(hf.getmetrics()) * 1.6
                elif block == "form":
                    cy = self._form(ink, rng, (cx, cy, cx + col_w, h - margin), font)
                elif block == "items":
                    cy = self._items(ink, rng, (cx, cy, cx + col_w, h - margin), font)
                else:
                    cy = self._table(ink, rng, (cx, cy, cx + col_w, h - margin), font)
        return self._finish(
            ink,
            rng,
            PRESETS["scan"] if rng.random() < 0.6 else PRESETS["photo"],
            page_warp=rng.random() < 0.3,
        )

    def _form(
        self,
        ink: InkLayer,
        rng: np.random.Generator,
        box: tuple[float, float, float, float],
        font: ImageFont.FreeTypeFont,
    ) -> float:
        """Label: value rows with underlines (FUNSD-like fields)."""
        x0, y, x1, y1 = box
        line_h = sum(font.getmetrics()) * rng.uniform(1.5, 2.2)
        for _ in range(int(rng.integers(2, 6))):
            if y + line_h > y1:
                break
            line = ink.new_line()
            label = self.words.sample(rng).capitalize() + ":"
            x = x0 + ink.word((x0, y), label, font, line) + font.getlength("  ")
            value = self.values.sample(rng)
            if rng.random() < 0.8 and x + font.getlength(value) < x1:
                ink.word((x, y), value, font, ink.new_line())
            base = y + sum(font.getmetrics()) + 1
            ink.draw.line([(x, base), (min(x1, x + (x1 - x0) * 0.5), base)], fill=int(rng.uniform(120, 255)), width=1)
            y += line_h
        return y + line_h * 0.3

    def _items(
        self,
        ink: InkLayer,
        rng: np.random.Generator,
        box: tuple[float, float, float, float],
        font: ImageFont.FreeTypeFont,
    ) -> float:
        """Invoice or list rows: a short marker ("2 x", "3", "4.", "b)"), item words, often an amount at the right.

        One- and two-character tokens standing apart at the start of a line are what a detector trained on
        prose misses (the quantities of examples/sample.png were): these rows show them on every kind of page.
        """
        x0, y, x1, y1 = box
        line_h = sum(font.getmetrics()) * rng.uniform(1.2, 1.9)
        space = font.getlength(" ")
        style = choose(rng, {"quantity": 3, "number": 2, "dotted": 1, "letter": 1, "none": 1})
        priced = rng.random() < 0.7
        for i in range(int(rng.integers(2, 8))):
            if y + line_h > y1:
                break
            count = int(rng.integers(1, 13)) if rng.random() < 0.8 else int(rng.integers(13, 200))
            marker = {
                "quantity": [str(count), str(choose(rng, {"x": 4, "X": 1, "*": 1, "@": 0.5}))]
                if rng.random() < 0.8
                else [f"{count}x"],
                "number": [str(i + 1)],
                "dotted": [f"{i + 1}."],
                "letter": [f"{'abcdefgh'[i]})"],
                "none": [],
            }[style]
            item = self._words(rng, int(rng.integers(1, 5)))
            if rng.random() < 0.3:
                item[0] = item[0].capitalize()
            line = ink.new_line()
            x = x0
            for token in marker:
                x += ink.word((x, y), token, font, line) + space * float(rng.uniform(1, 2.5))
            price = self.values.sample(rng, source="price") if priced else ""
            price_x = x1 - font.getlength(price)
            for word in item:
                width = font.getlength(word)
                if x + width > (price_x - 2 * space if price else x1):
                    break
                x += ink.word((x, y), word, font, line) + space
            if price and price_x > x + space:
                ink.line_of_words((price_x, y), price.split(), font, line=line)
            y += line_h
        return y + line_h * 0.5

    def _table(
        self,
        ink: InkLayer,
        rng: np.random.Generator,
        box: tuple[float, float, float, float],
        font: ImageFont.FreeTypeFont,
    ) -> float:
        """A ruled grid with one text line per cell."""
        x0, y, x1, y1 = box
        cols = int(rng.integers(2, 5))
        rows = int(rng.integers(2, 7))
        row_h = sum(font.getmetrics()) * rng.uniform(1.4, 1.9)
        col_w = (x1 - x0) / cols
        ruled = rng.random() < 0.7
        for r in range(rows):
            if y + row_h > y1:
                break
            for c in range(cols):
                text = self.words.sample(rng) if r == 0 or c == 0 else self.values.sample(rng)
                while text and font.getlength(text) > col_w - 6:
                    text = text[:-1]
                if text.strip():
                    ink.line_of_words((x0 + c * col_w + 4, y + row_h * 0.15), text.split(), font)
            if ruled:
                ink.draw.line([(x0, y), (x1, y)], fill=200, width=1)
            y += row_h
        if ruled:
            ink.draw.line([(x0, y), (x1, y)], fill=200, width=1)
        return y + row_h * 0.5

    def _receipt(self, rng: np.random.Generator) -> PageSample:
        w = int(rng.integers(300, 460))
        font_px = float(rng.uniform(13, 20))
        font = self._font(rng, font_px, self._mono if rng.random() < 0.8 else None)
        line_h = sum(font.getmetrics()) * rng.uniform(1.15, 1.5)
        n = int(rng.integers(15, 40))
        h = int(line_h * (n + 4))
        ink = InkLayer(w, h)
        margin = w * rng.uniform(0.04, 0.1)
        y = line_h
        for i in range(n):
            if i < 4 or rng.random() < 0.1:  # centred header lines: shop, address, phone
                text = self.receipt.sample(rng, source="phrase" if i == 0 else None).upper()
                width = font.getlength(text)
                x = max(margin, (w - width) / 2)
                self._clipped_line(ink, (x, y), text, font, w - margin)
            elif rng.random() < 0.1:
                ink.draw.text(
                    (margin, y),
                    "-" * int((w - 2 * margin) / max(font.getlength("-"), 1)),
                    font=font,
                    fill=255,
                )
            else:
                item = self.receipt.sample(rng, source="word" if rng.random() < 0.5 else None).upper()
                if rng.random() < 0.25:  # a quantity standing apart before the item: "2 X COFFEE", "3 TEA"
                    item = f"{int(rng.integers(1, 13))}{choose(rng, {' X': 2, 'X': 1, '': 2})} {item}"
                price = self.receipt.sample(rng, source="price")
                pw = font.getlength(price)
                line = ink.new_line()
                self._clipped_line(ink, (margin, y), item, font, w - margin - pw - font.getlength("  "), line)
                ink.word((w - margin - pw, y), price, font, line)
            y += line_h
        return self._finish(ink, rng, PRESETS["receipt"], page_warp=rng.random() < 0.3)

    def _clipped_line(
        self,
        ink: InkLayer,
        xy: tuple[float, float],
        text: str,
        font: ImageFont.FreeTypeFont,
        x_max: float,
        line: int | None = None,
    ) -> None:
        """Draw the words of ``text`` that fit before ``x_max`` as one line."""
        line = ink.new_line() if line is None else line
        x, y = xy
        space = font.getlength(" ")
        for word in text.split():
            width = font.getlength(word)
            if x + width > x_max:
                break
            ink.word((x, y), word, font, line)
            x += width + space

    def _card(self, rng: np.random.Generator) -> PageSample:
        w = int(rng.integers(500, 700))
        h = int(w * rng.uniform(0.55, 0.62))
        ink = InkLayer(w, h)
        margin = w * 0.07
        name = self._font(rng, h * rng.uniform(0.08, 0.12))
        y = margin
        ink.line_of_words(
            (margin, y),
            [self.words.sample(rng).title(), self.words.sample(rng).title()],
            name,
            stroke=int(rng.random() < 0.5),
        )
        y += sum(name.getmetrics()) * 1.3
        small = self._font(rng, h * rng.uniform(0.04, 0.06))
        ink.line_of_words((margin, y), self._words(rng, int(rng.integers(1, 4))), small)
        y = h * rng.uniform(0.5, 0.6)
        for source in ("phone", "email", "url", "phrase"):
            if rng.random() < 0.85 and y < h - margin:
                ink.line_of_words((margin, y), self.values.sample(rng, source=source).split(), small)
                y += sum(small.getmetrics()) * 1.4
        return self._finish(ink, rng, PRESETS["photo"].with_(colour="scene"), page_warp=rng.random() < 0.6)

    def render_card(self, rng: np.random.Generator, lines: Sequence[tuple[str, str]], photo: bool = True) -> PageSample:
        """A business card of the given ``lines`` ((role, text) pairs, e.g. ("name", "Anna Weber"), role "name"
        and "organization" drawn larger), in one of three layouts (all left, all centred, contacts right-aligned in
        the lower corner), photographed at an angle on a background when ``photo``.

        The synthesiser reports what it drew: every word's ``extra`` holds its ``line`` and that line's ``role``,
        so a card's fields are known (textlens.extract.card_synth builds the fields and reads them back).
        Does not touch the ``card`` kind's random stream (training runs stay reproducible)."""
        w = int(rng.integers(560, 760))
        h = int(w * rng.uniform(0.55, 0.62))
        margin = w * rng.uniform(0.05, 0.08)
        layout = str(choose(rng, {"left": 2, "centre": 1, "split": 2}))
        body_px = h * rng.uniform(0.045, 0.058)
        pool = self._fonts_full
        body = self._font(rng, body_px, pool)
        big = self._font(rng, body_px * rng.uniform(1.5, 1.9), pool)
        org_font = self._font(rng, body_px * rng.uniform(1.1, 1.4), pool)
        heads = [(r, t) for r, t in lines if r in ("name", "title", "organization")]
        rest = [(r, t) for r, t in lines if (r, t) not in heads]
        fonts = {"name": big, "organization": org_font}
        needed = sum(sum(fonts.get(r, body).getmetrics()) * 1.45 for r, _ in lines) + body_px * 0.8
        h = max(h, int(needed + 2 * margin))  # a card with many lines grows taller rather than losing them
        ink = InkLayer(w, h)

        line_roles: dict[int, str] = {}

        def place(items: Sequence[tuple[str, str]], y: float, align: str) -> float:
            for role, text in items:
                font = fonts.get(role, body)
                width = font.getlength(text)
                x = {"left": margin, "centre": (w - width) / 2, "right": w - margin - width}[align]
                line = ink.new_line()
                line_roles[line] = role
                stroke = int(role == "name" and rng.random() < 0.4)
                ink.line_of_words((max(2.0, x), y), text.split(), font, stroke=stroke, line=line)
                y += sum(font.getmetrics()) * rng.uniform(1.25, 1.45)
            return y

        y = place(heads, margin, "centre" if layout == "centre" else "left")
        rest_h = sum(sum(fonts.get(r, body).getmetrics()) * 1.45 for r, _ in rest)
        y = max(y + body_px * 0.8, h - margin - rest_h) if layout != "centre" else y + body_px * 0.8
        place(rest, y, {"left": "left", "centre": "centre", "split": "right"}[layout])
        # printed card stock mostly (dark ink on light paper), a third in sign colours (white on blue, …)
        preset = PRESETS["photo"] if rng.random() < 0.67 else PRESETS["photo"].with_(colour="scene")
        sample = self._finish(ink, rng, preset, page_warp=photo)
        words = tuple(replace(wd, extra={**wd.extra, "role": line_roles.get(int(wd.extra["line"]), "other")})
                      for wd in sample.words)  # fmt: skip
        return PageSample(image=sample.image, words=words, source="synth:page:card_fields")

    def _scene(self, rng: np.random.Generator) -> PageSample:
        """Signs (coloured plates with 1-3 lines) pasted at an angle over a cluttered background."""
        w, h = int(rng.integers(640, 960)), int(rng.integers(480, 720))
        preset = PRESETS["scene"]
        bg_colour, _ = sample_colours(rng, "scene")
        image = make_background(rng, h, w, bg_colour, "scene")
        words: list[WordAnnotation] = []
        line_base = 0
        for _ in range(int(rng.integers(1, 5))):
            sign, sign_words = self._sign(rng, preset, line_base)
            line_base += 10
            image, placed, cover = self._paste(rng, image, sign, sign_words)
            # words partly hidden behind the new sign become don't-care regions
            words = [replace(wd, ignore=True) if _covered(wd, cover) else wd for wd in words]
            words.extend(placed)
        image = degrade_image(np.clip(image, 0, 255).astype(np.uint8), rng, preset.with_(resample_p=0.2))
        return PageSample(image=image, words=tuple(words), source="synth:page:scene")

    def _sign(self, rng: np.random.Generator, preset: Preset, line_base: int) -> tuple[np.ndarray, list[_Word]]:
        size = float(rng.uniform(20, 60))
        font = self._font(rng, size)
        lines = [
            self.words.sample(rng).upper() if rng.random() < 0.4 else self.words.sample(rng)
            for _ in range(int(rng.integers(1, 4)))
        ]
        line_h = sum(font.getmetrics()) * 1.2
        pad = size * rng.uniform(0.3, 0.8)
        sw = int(max(font.getlength(t) for t in lines) + 2 * pad)
        sh = int(line_h * len(lines) + 2 * pad)
        ink = InkLayer(sw, sh)
        ink.next_line = line_base
        for i, t in enumerate(lines):
            x = (sw - font.getlength(t)) / 2
            ink.line_of_words((x, pad + i * line_h), t.split(), font, stroke=int(rng.random() < 0.3))
        alpha = np.asarray(ink.mask, np.float32) / 255.0
        sign = composite(
            rng,
            alpha,
            preset.with_(shadow_p=0.1, outline_p=0.05),
            choose(rng, {"flat": 2, "gradient": 1, "noise": 1}),
        )
        return sign, ink.words

    def _paste(
        self, rng: np.random.Generator, image: np.ndarray, sign: np.ndarray, words: list[_Word]
    ) -> tuple[np.ndarray, list[WordAnnotation], np.ndarray]:
        h, w = image.shape[:2]
        sh, sw = sign.shape[:2]
        scale = min(1.0, 0.8 * w / sw, 0.6 * h / sh)
        src = np.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], np.float32)
        dst = src * scale
        dst += rng.uniform(-0.12, 0.12, size=(4, 2)).astype(np.float32) * np.array([sw, sh]) * scale
        dst -= dst.min(axis=0)
        span = dst.max(axis=0)
        dst += np.array([rng.uniform(0, max(1, w - span[0])), rng.uniform(0, max(1, h - span[1]))], np.float32)
        hom = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
        warped = cv2.warpPerspective(sign, hom, (w, h), flags=cv2.INTER_LINEAR)
        cover = cv2.warpPerspective(np.ones((sh, sw), np.float32), hom, (w, h), flags=cv2.INTER_LINEAR)
        image = image * (1 - cover[..., None]) + warped.astype(np.float32) * cover[..., None]
        return image, _annotate(words, hom, w, h), cover

    # --- scene_photo ----------------------------------------------------------------------------------------
    def _scene_photo(self, rng: np.random.Generator) -> PageSample:
        """Words and lines on a photograph without text, on its smooth regions (textlens.data.synth.scene_photo):
        perspective, curvature, rotation up to ±90°, the photo's light, shadows, plates, occluders, then blur,
        noise and JPEG over the whole picture."""
        assert self.backgrounds is not None
        long_side = int(rng.integers(640, 1281))
        ratio = float(choose(rng, {"1.3333": 3, "1.5": 2, "1.7778": 2, "1.0": 1, "0.75": 1.5, "0.5625": 0.5}))
        w, h = (long_side, round(long_side / ratio)) if ratio >= 1 else (round(long_side * ratio), long_side)
        image = self.backgrounds.crop(rng, w, h).astype(np.float32)
        clean = image.copy()
        grey = photo.grey_map(image)
        busy = photo.busy_map(image, grey=grey)
        occupied = np.zeros(busy.shape, np.uint8)
        words: list[WordAnnotation] = []
        line_base = 0
        # a third of the photos hold a few large words (a shop sign, a plate), the rest up to ten blocks
        sparse = rng.random() < 0.35
        blocks, sizes = (int(rng.integers(1, 4)), (0.06, 0.35)) if sparse else (int(rng.integers(2, 11)), (0.0, 0.2))
        for _ in range(blocks):
            placed, line_base = self._photo_block(rng, image, clean, (busy, grey), occupied, line_base, sizes)
            words.extend(placed)
        if rng.random() < 0.3:
            image = photo.cast_shadow(rng, image)
        look = PRESETS["scene"].with_(resample_p=0.15, resample=(0.5, 0.9), light_p=0.4, jpeg_p=0.6, jpeg_q=(40, 95))
        image = degrade_image(np.clip(image, 0, 255).astype(np.uint8), rng, look)
        return PageSample(image=image, words=tuple(words), source="synth:page:scene_photo")

    def _scene_font(self, rng: np.random.Generator) -> FontInfo:
        weights = {cat: wt for cat, wt in PHOTO_FONT_MIX.items() if self._by_category[cat]}
        pool = self._by_category[choose(rng, weights)] if weights else self._fonts_full
        return pool[int(rng.integers(len(pool)))]

    def _photo_lines(self, rng: np.random.Generator, info: FontInfo) -> list[list[str]]:
        """1-3 lines of 1-4 scene tokens (words, numbers, prices, codes), one case for the block, all drawn by
        the font."""
        allowed = self._allowed.get(info.path)
        if allowed is None:
            allowed = frozenset(c for c in self.charset if ord(c) in info.codepoints)
            self._allowed[info.path] = allowed
        case = choose(rng, {"as_is": 0.5, "upper": 0.3, "title": 0.2})
        lines = []
        for _ in range(int(choose(rng, {"1": 0.65, "2": 0.25, "3": 0.1}))):
            tokens = [self.scene_text.sample(rng, allowed) for _ in range(int(choose(rng, _TOKENS)))]
            text = " ".join(tokens)
            text = text.upper() if case == "upper" else text.title() if case == "title" else text
            words = ["".join(c for c in word if c in allowed) for word in text.split()]
            lines.append([word for word in words if word])
        return [line for line in lines if line] or [[self.scene_text.sample(rng, allowed).split()[0]]]

    def _photo_block(
        self,
        rng: np.random.Generator,
        image: np.ndarray,
        clean: np.ndarray,
        maps: tuple[np.ndarray, np.ndarray],
        occupied: np.ndarray,
        line_base: int,
        sizes: tuple[float, float] = (0.0, 0.2),
    ) -> tuple[list[WordAnnotation], int]:
        """One text block (a word, a line or a few lines) placed on a smooth region and painted into ``image``
        (float32, in place; ``clean`` is the photo without text, ``maps`` its busy and grey maps); returns its
        word annotations and the next free line id. Font sizes are log-uniform between ``sizes`` × the photo's
        short side (at least 14 px)."""
        h, w = image.shape[:2]
        busy, grey = maps
        info = self._scene_font(rng)
        lo, hi = max(14.0, min(w, h) * sizes[0]), max(15.0, min(w, h) * sizes[1])
        px = math.exp(rng.uniform(math.log(lo), math.log(max(hi, lo + 1))))  # font size in page pixels
        size = ladder_size(px)
        font = self._cache.get(info.path, size)
        lines = self._photo_lines(rng, info)
        ascent, descent = font.getmetrics()
        line_h = (ascent + descent) * float(rng.uniform(1.0, 1.3))
        widths = [font.getlength(" ".join(line)) for line in lines]
        pad = size * 0.5
        cw, ch = int(max(widths) + 2 * pad) + 1, int(line_h * len(lines) + 2 * pad) + 1
        ink = InkLayer(cw, ch)
        ink.next_line = line_base
        align = choose(rng, {"left": 1, "centre": 2, "right": 0.5})
        stroke = max(1, round(size / 25)) if rng.random() < 0.15 else 0
        for i, (line, width) in enumerate(zip(lines, widths, strict=True)):
            x = pad + {"left": 0.0, "centre": (max(widths) - width) / 2, "right": max(widths) - width}[align]
            ink.line_of_words((x, pad + i * line_h), line, font, stroke=stroke)
        if not ink.words:
            return [], ink.next_line
        alpha = np.asarray(ink.mask, np.float32) / 255.0
        quads = [wd.quad for wd in ink.words]
        if rng.random() < 0.2:  # an arc: the middle sags or rises by up to a fifth of the width
            alpha, quads = _bend(alpha, quads, float(rng.uniform(0.04, 0.2)) * cw * float(rng.choice([-1, 1])))
        ch = alpha.shape[0]
        plate = rng.random() < 0.15
        scale = px / size
        for attempt in range(3):
            local = _block_homography(rng, cw, ch, scale)
            ink_quad = _bounds_quad(np.concatenate(quads))
            ink_page = cv2.perspectiveTransform(ink_quad.reshape(-1, 1, 2), local).reshape(-1, 2)
            canvas = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]], np.float32)
            canvas_page = cv2.perspectiveTransform(canvas.reshape(-1, 1, 2), local).reshape(-1, 2)
            footprint = canvas_page if plate else ink_page
            lo, hi = footprint.min(axis=0), footprint.max(axis=0)
            span = hi - lo
            if span[0] < 0.95 * w and span[1] < 0.95 * h:
                threshold = photo.SMOOTH * (3.0 if plate else 1.0 + 0.5 * attempt)
                box_w, box_h = float(span[0]), float(span[1])
                spot = photo.find_place(rng, busy, occupied, box_w, box_h, threshold, grey=None if plate else grey)
                if spot is not None:
                    break
            scale, px = scale * 0.7, px * 0.7
        else:
            return [], ink.next_line
        hom = np.array([[1, 0, spot[0] - lo[0]], [0, 1, spot[1] - lo[1]], [0, 0, 1]]) @ local
        canvas_page = canvas_page + (np.array(spot) - lo)
        photo.mark_occupied(occupied, canvas_page if plate else ink_page + (np.array(spot) - lo), px * 0.3)
        self._paint_block(rng, image, alpha, hom, canvas_page, plate, px)
        words = [_Word(wd.text, q, wd.line) for wd, q in zip(ink.words, quads, strict=True)]
        placed = _annotate(words, hom, w, h)
        if rng.random() < 0.1:  # a foreground object in front of part of the block
            cover = photo.occluder(rng, image, canvas_page, clean)
            placed = [
                replace(a, ignore=True) if photo.covered_fraction(np.array(a.polygon), cover) > 0.3 else a
                for a in placed
            ]
        return placed, ink.next_line

    def _paint_block(
        self,
        rng: np.random.Generator,
        image: np.ndarray,
        alpha: np.ndarray,
        hom: np.ndarray,
        canvas_page: np.ndarray,
        plate: bool,
        px: float,
    ) -> None:
        """Warp the block's ink into the photo and paint it: optional plate, drop shadow and outline, a colour
        contrasting with what lies under it, the photo's own light, soft edges and partial opacity."""
        h, w = image.shape[:2]
        x0, y0 = np.floor(canvas_page.min(axis=0)).astype(int).clip(0, [w, h])
        x1, y1 = np.ceil(canvas_page.max(axis=0)).astype(int).clip(0, [w, h])
        if x1 <= x0 or y1 <= y0:
            return
        to_patch = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], np.float64) @ hom
        size = (int(x1 - x0), int(y1 - y0))
        a = cv2.warpPerspective(alpha, to_patch, size, flags=cv2.INTER_LINEAR)
        region = image[y0:y1, x0:x1]
        light = photo.shading(region, float(rng.uniform(0.3, 1.0))) if rng.random() < 0.7 else None
        if plate:
            ones = np.ones(alpha.shape, np.float32)
            pa = cv2.warpPerspective(ones, to_patch, size, flags=cv2.INTER_LINEAR)
            plate_colour = sample_colours(rng, "scene")[0]
            fill = np.broadcast_to(plate_colour, region.shape) * (light if light is not None else 1.0)
            region *= 1 - pa[..., None]
            region += fill * pa[..., None]
            under = plate_colour
        else:
            under = photo.local_background(image, a, int(x0), int(y0))
        colour = photo.contrast_colour(rng, under)
        if rng.random() < 0.2:  # drop shadow
            d = rng.uniform(-0.08, 0.08, 2) * px
            shadow = cv2.warpAffine(a, np.float32([[1, 0, d[0]], [0, 1, d[1]]]), size)
            shadow = cv2.GaussianBlur(shadow, (0, 0), float(rng.uniform(0.5, 0.05 * px + 0.6)))
            region *= 1 - float(rng.uniform(0.3, 0.7)) * shadow[..., None]
        if rng.random() < 0.12:  # outline in the opposite brightness
            k = max(1, round(px * rng.uniform(0.03, 0.08)))
            ring = cv2.dilate(a, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1)))
            edge = np.full(3, 0.0 if colour.mean() > 128 else 255.0, np.float32)
            region *= 1 - ring[..., None]
            region += edge * ring[..., None]
        if rng.random() < 0.3:
            a = cv2.GaussianBlur(a, (0, 0), float(rng.uniform(0.3, 0.8)))
        if rng.random() < 0.1:  # worn paint
            grain = cv2.GaussianBlur(rng.random(a.shape, dtype=np.float32), (0, 0), 1.5)
            a = a * np.clip(1.0 - float(rng.uniform(0.5, 1.5)) * np.maximum(0.5 - grain, 0) * 4, 0, 1)
        a = a * float(rng.uniform(0.8, 1.0))
        paint = np.broadcast_to(colour, region.shape) * (light if light is not None else 1.0)
        region *= 1 - a[..., None]
        region += paint * a[..., None]

    # --- finishing ------------------------------------------------------------------------------------------
    def _finish(self, ink: InkLayer, rng: np.random.Generator, preset: Preset, page_warp: bool) -> PageSample:
        """Composite the ink over the page, optionally photograph it at an angle, degrade, annotate."""
        alpha = np.asarray(ink.mask, np.float32) / 255.0
        alpha = degrade_ink(alpha, rng, preset.with_(streak_p=0.0, grain_p=min(preset.grain_p, 0.2)))
        bg_colour, ink_colour = sample_colours(rng, preset.colour, preset.paper)
        h, w = alpha.shape
        page = make_background(rng, h, w, bg_colour, choose(rng, {"flat": 1, "paper": 2, "gradient": 0.5}))
        page = page * (1 - alpha[..., None]) + ink_colour * alpha[..., None]
        hom = np.eye(3)
        if page_warp:
            src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
            # corner moves scaled by the short side, so a tall receipt is not skewed more than a wide card
            border = rng.uniform(0.01, 0.06, size=(4, 2)).astype(np.float32) * min(w, h)
            dst = src + border * np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], np.float32)
            hom = cv2.getPerspectiveTransform(src, dst)
            surround = make_background(rng, h, w, sample_colours(rng, "scene")[0], "noise")
            cover = cv2.warpPerspective(np.ones((h, w), np.float32), hom, (w, h))
            page = surround * (1 - cover[..., None]) + cv2.warpPerspective(page, hom, (w, h)) * cover[..., None]
        image = np.clip(page, 0, 255).astype(np.uint8)
        image = degrade_image(image, rng, preset.with_(resample=(0.6, 0.95), binarize_p=preset.binarize_p * 0.5))
        kind = preset.name
        return PageSample(image=image, words=tuple(_annotate(ink.words, hom, w, h)), source=f"synth:page:{kind}")


def _annotate(words: list[_Word], hom: np.ndarray, width: int, height: int) -> list[WordAnnotation]:
    """Word annotations after the homography: polygon = warped quad, box = its bounds clipped to the image."""
    out: list[WordAnnotation] = []
    if not words:
        return out
    quads = cv2.perspectiveTransform(np.stack([w.quad for w in words]).reshape(-1, 1, 2), hom).reshape(-1, 4, 2)
    for word, quad in zip(words, quads, strict=True):
        x0, y0 = quad.min(axis=0)
        x1, y1 = quad.max(axis=0)
        cx0, cy0 = max(0.0, float(x0)), max(0.0, float(y0))
        cx1, cy1 = min(float(width), float(x1)), min(float(height), float(y1))
        if cx1 <= cx0 or cy1 <= cy0:
            continue
        visible = (cx1 - cx0) * (cy1 - cy0) / max((x1 - x0) * (y1 - y0), 1e-6)
        clipped = np.clip(quad, [0, 0], [width, height])
        polygon = tuple((round(float(px), 2), round(float(py), 2)) for px, py in clipped)
        out.append(
            WordAnnotation(
                text=word.text,
                box=(round(cx0, 2), round(cy0, 2), round(cx1, 2), round(cy1, 2)),
                polygon=polygon,
                ignore=visible < _MIN_VISIBLE,
                extra={"line": word.line},
            )
        )
    return out


def _covered(word: WordAnnotation, cover: np.ndarray) -> bool:
    x0, y0, x1, y1 = (int(v) for v in word.box)
    region = cover[y0 : max(y1, y0 + 1), x0 : max(x1, x0 + 1)]
    return region.size > 0 and float(region.mean()) > 0.05


_TOKENS = {"1": 0.5, "2": 0.3, "3": 0.15, "4": 0.05}


def _bounds_quad(points: np.ndarray) -> np.ndarray:
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


def _block_homography(rng: np.random.Generator, cw: int, ch: int, scale: float) -> np.ndarray:
    """Canvas → page (up to a translation): a perspective jitter of the corners, then rotation and scale about
    the centre. Rotation: within ±6° for 60 % of blocks, ±30° for 30 %, ±90° for the rest."""
    src = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]], np.float32)
    reach = float(rng.uniform(0, 0.15)) if rng.random() < 0.6 else 0.0
    dst = src + rng.uniform(-reach, reach, (4, 2)).astype(np.float32) * np.array([cw, ch], np.float32) * 0.5
    persp = cv2.getPerspectiveTransform(src, dst).astype(np.float64)
    limit = float(choose(rng, {"6": 0.6, "30": 0.3, "90": 0.1}))
    turn = cv2.getRotationMatrix2D((cw / 2, ch / 2), float(rng.uniform(-limit, limit)), scale)
    return np.vstack([turn, [0, 0, 1]]) @ persp


def _bend(alpha: np.ndarray, quads: list[np.ndarray], sag: float) -> tuple[np.ndarray, list[np.ndarray]]:
    """Bend a block along a parabola whose middle moves by ``sag`` pixels (down when positive); each word's quad
    becomes the smallest rotated rectangle around its bent box."""
    h, w = alpha.shape
    room = math.ceil(abs(sag)) + 1
    xs = np.arange(w, dtype=np.float32)
    shift = sag * (1 - ((xs - w / 2) / (w / 2)) ** 2) + room  # where a source row lands, per column
    map_x = np.broadcast_to(xs, (h + 2 * room, w)).astype(np.float32)
    map_y = (np.arange(h + 2 * room, dtype=np.float32)[:, None] - shift[None, :]).astype(np.float32)
    bent = cv2.remap(alpha, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    out = []
    for quad in quads:
        x0, y0 = quad.min(axis=0)
        x1, y1 = quad.max(axis=0)
        px = np.linspace(x0, x1, 9, dtype=np.float32)
        dy = sag * (1 - ((px - w / 2) / (w / 2)) ** 2) + room
        points = np.concatenate([np.stack([px, y0 + dy], 1), np.stack([px, y1 + dy], 1)])
        out.append(order_quad(points))
    return bent, out
