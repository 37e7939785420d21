"""Rendering one synthetic word or line crop: glyph masks with Pillow, geometry and compositing with OpenCV.

The pipeline, at capture resolution: draw the text (and any neighbouring words or lines) as alpha masks, warp
the masks with one homography (shear, rotation, perspective) and an optional arc, crop around the main text's
ink like a detector would, degrade the ink, composite over a procedural background with shadow or outline,
then apply the optical and sensor degradations. Only the caller's ``Generator`` supplies randomness.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont, features

from textlens.data.synth.degrade import degrade_image, degrade_ink, noise_field
from textlens.data.synth.fonts import FontInfo
from textlens.data.synth.presets import Preset
from textlens.data.synth.scripts import needs_shaping
from textlens.errors import ConfigError

Colour = np.ndarray  # float32 RGB in [0, 255], shape (3,)


class FontCache:
    """Loaded Pillow fonts by (path, size), least recently used dropped: a face costs ~0.2 ms and ~150 kB."""

    def __init__(self, capacity: int = 1024) -> None:
        self.capacity = capacity
        self._fonts: OrderedDict[tuple[str, int], ImageFont.FreeTypeFont] = OrderedDict()

    def get(self, path: str, size: int) -> ImageFont.FreeTypeFont:
        key = (path, size)
        font = self._fonts.get(key)
        if font is None:
            # BASIC layout: no ligatures (Fira Code would turn "->" into one glyph and break the label) and
            # faster
            font = ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.BASIC)
            self._fonts[key] = font
            if len(self._fonts) > self.capacity:
                self._fonts.popitem(last=False)
        else:
            self._fonts.move_to_end(key)
        return font


SIZE_LADDER = (6, 7, 8, 9, 10, 12, 14, 16, 19, 22, 26, 31, 37, 44, 52, 62, 74, 88, 104)


def ladder_size(px: float) -> int:
    """The smallest ladder size at or above ``px`` (drawing a little big and shrinking keeps edges sharp)."""
    return SIZE_LADDER[min(bisect_right(SIZE_LADDER, px - 1e-6), len(SIZE_LADDER) - 1)]


# --- colours
# -------------------------------------------------------------------------------------------------
def luminance(c: Colour) -> float:
    return float(0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2])


def _hsv_colour(rng: np.random.Generator, s: tuple[float, float], v: tuple[float, float]) -> Colour:
    hsv = np.array([[[rng.uniform(0, 180), rng.uniform(*s), rng.uniform(*v)]]], np.float32)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32)


def sample_colours(
    rng: np.random.Generator, mode: str, paper_range: tuple[float, float] = (175, 255)
) -> tuple[Colour, Colour]:
    """(background, ink) with enough luminance contrast to read; ``mode`` is paper, thermal or scene."""
    if mode == "paper":
        paper = np.full(3, rng.uniform(*paper_range), np.float32) + rng.uniform(-8, 8, 3).astype(np.float32)
        paper[2] -= rng.uniform(0, 14)  # old paper yellows
        r = rng.random()
        if r < 0.7:
            ink = np.full(3, rng.uniform(0, 70), np.float32)
        elif r < 0.9:  # ballpoint / stamp blue
            ink = np.array([rng.uniform(10, 60), rng.uniform(20, 70), rng.uniform(90, 170)], np.float32)
        else:
            ink = _hsv_colour(rng, (80, 255), (40, 150))
        return np.clip(paper, 0, 255), ink
    if mode == "thermal":
        paper = np.full(3, rng.uniform(*paper_range), np.float32) + rng.uniform(-4, 4, 3).astype(np.float32)
        if rng.random() < 0.1:  # the blue-purple thermal papers of SROIE
            ink = np.array([rng.uniform(60, 130), rng.uniform(70, 130), rng.uniform(140, 200)], np.float32)
        else:
            ink = np.full(3, rng.uniform(0, 110), np.float32)
        return np.clip(paper, 0, 255), ink
    return _scene_colours(rng)


def _scene_colours(rng: np.random.Generator) -> tuple[Colour, Colour]:
    r = rng.random()
    if r < 0.2:  # dark text on white/light sign
        return _hsv_colour(rng, (0, 40), (190, 255)), _hsv_colour(rng, (0, 255), (0, 110))
    if r < 0.4:  # white text on a saturated sign (blue, red, green, black)
        return _hsv_colour(rng, (120, 255), (40, 200)), _hsv_colour(rng, (0, 30), (215, 255))
    for _ in range(12):
        bg = _hsv_colour(rng, (0, 255), (0, 255))
        fg = _hsv_colour(rng, (0, 255), (0, 255))
        if abs(luminance(bg) - luminance(fg)) > 110:
            return bg, fg
    return bg, (np.full(3, 255.0, np.float32) if luminance(bg) < 128 else np.zeros(3, np.float32))


# --- backgrounds
# ---------------------------------------------------------------------------------------------
def _low_freq(rng: np.random.Generator, h: int, w: int, cells: int = 4) -> np.ndarray:
    """Smooth noise in [-1, 1]: a few random values upscaled with bicubic interpolation."""
    gh, gw = max(2, cells), max(2, int(cells * w / max(h, 1)) // 2 + 2)
    grid = rng.uniform(-1, 1, size=(gh, gw)).astype(np.float32)
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)


def make_background(rng: np.random.Generator, h: int, w: int, colour: Colour, kind: str) -> np.ndarray:
    """A float32 RGB background of ``kind``: flat, gradient, noise, paper or scene (clutter of blurred
    shapes)."""
    bg = np.empty((h, w, 3), np.float32)
    bg[:] = colour
    if kind == "gradient":
        # light paper only darkens in grey (shade, not tint); scene colours may shift hue
        light_paper = luminance(colour) > 170 and float(np.ptp(colour)) < 30
        shift = -rng.uniform(0, 40) * np.ones(3) if light_paper else rng.uniform(-50, 50, 3)
        other = colour + shift.astype(np.float32)
        t = np.linspace(0, 1, w if rng.random() < 0.6 else h, dtype=np.float32)
        ramp = t[None, :, None] if len(t) == w else t[:, None, None]
        bg = bg * (1 - ramp) + other * ramp
    elif kind == "noise":
        bg += _low_freq(rng, h, w, int(rng.integers(2, 8)))[..., None] * float(rng.uniform(10, 45))
    elif kind == "paper":
        bg += _low_freq(rng, h, w, int(rng.integers(3, 10)))[..., None] * float(rng.uniform(2, 12))
        bg += noise_field(rng, h, w)[..., None] * float(rng.uniform(1, 5))
        if rng.random() < 0.3:  # fibres and dirt
            for _ in range(int(rng.integers(1, 4))):
                p0 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
                p1 = (
                    p0[0] + int(rng.integers(-w // 3 - 1, w // 3 + 1)),
                    p0[1] + int(rng.integers(-h, h + 1)),
                )
                cv2.line(bg, p0, p1, (colour * float(rng.uniform(0.75, 0.95))).tolist(), 1, cv2.LINE_AA)
    elif kind == "scene":
        bg = _scene_clutter(rng, bg, colour)
    return bg


def _scene_clutter(rng: np.random.Generator, bg: np.ndarray, colour: Colour) -> np.ndarray:
    """Blurred rectangles, circles, bars and a texture wash: the sign edges, frames and bricks around scene
    text."""
    h, w = bg.shape[:2]
    layer = bg.copy()
    for _ in range(int(rng.integers(1, 5))):
        c = (colour + rng.uniform(-90, 90, 3)).clip(0, 255).tolist()
        shape = rng.random()
        x, y = int(rng.integers(-w // 4, w)), int(rng.integers(-h // 2, h))
        if shape < 0.4:
            cv2.rectangle(layer, (x, y), (x + int(rng.integers(4, w + 1)), y + int(rng.integers(2, h + 1))), c, -1)
        elif shape < 0.7:
            cv2.circle(layer, (x, y), int(rng.integers(3, max(4, h))), c, -1, cv2.LINE_AA)
        else:
            cv2.line(
                layer,
                (x, y),
                (x + int(rng.integers(-w, w)), y + int(rng.integers(-h, h))),
                c,
                int(rng.integers(1, max(2, h // 6))),
                cv2.LINE_AA,
            )
    alpha = float(rng.uniform(0.15, 0.55))
    bg = bg * (1 - alpha) + cv2.GaussianBlur(layer, (0, 0), float(rng.uniform(0.5, 3))) * alpha
    bg += _low_freq(rng, h, w, int(rng.integers(3, 12)))[..., None] * float(rng.uniform(5, 30))
    return bg


# --- glyph masks
# ---------------------------------------------------------------------------------------------
@dataclass
class TextLayout:
    """Where the main text sits on the mask canvas (before warping)."""

    x0: float
    y_top: float  # top of the line (ascender line)
    width: float
    line_h: float


class GlyphCache:
    """Bitmaps of single glyphs by (font file, size, character, stroke), least recently used dropped.

    Exact only where one code point is one glyph placed by its advance (BASIC layout): text that needs shaping
    bypasses it (:func:`draw_text`).

    Rasterising every glyph of every string with FreeType was the largest single cost of rendering a line;
    a cached glyph is a paste. A long-running worker with all fonts settles near 120,000 glyphs (~3 kB each,
    ~350 MB) and a 93 % hit rate; the capacity bounds the memory.
    """

    def __init__(self, capacity: int = 150_000) -> None:
        self.capacity = capacity
        self._glyphs: OrderedDict[tuple[str, int, str, int], tuple[Image.Image | None, int, int, float]] = OrderedDict()

    def get(self, font: ImageFont.FreeTypeFont, ch: str, stroke: int) -> tuple[Image.Image | None, int, int, float]:
        """(mask or None for a blank glyph, x offset, y offset from the pen position, advance)."""
        key = (str(font.path), int(font.size), ch, stroke)
        glyph = self._glyphs.get(key)
        if glyph is not None:
            self._glyphs.move_to_end(key)
            return glyph
        left, top, right, bottom = font.getbbox(ch, stroke_width=stroke, anchor="la")
        mask: Image.Image | None = None
        if right > left and bottom > top:
            mask = Image.new("L", (right - left, bottom - top), 0)
            ImageDraw.Draw(mask).text(
                (-left, -top), ch, font=font, fill=255, stroke_width=stroke, stroke_fill=255, anchor="la"
            )
        glyph = (mask, int(left), int(top), float(font.getlength(ch)))
        self._glyphs[key] = glyph
        if len(self._glyphs) > self.capacity:
            self._glyphs.popitem(last=False)
        return glyph


GLYPHS = GlyphCache()  # one per process: each DataLoader worker fills its own


@lru_cache(maxsize=256)
def _shaping_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    """The RAQM (HarfBuzz) twin of a cached BASIC face, for text that needs shaping.

    Pillow's wheels carry libraqm and HarfBuzz but load FriBiDi from the system: without it Pillow would fall
    back to the BASIC layout with only a warning, and every conjunct would be drawn wrong, so that is an error.
    """
    if not features.check("raqm"):
        raise ConfigError(
            "drawing Devanagari and other complex scripts needs Pillow's RAQM layout, which needs the FriBiDi "
            "library: apt-get install libfribidi0 (make system-deps)"
        )
    return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.RAQM)


def shaping_font(font: ImageFont.FreeTypeFont) -> ImageFont.FreeTypeFont:
    return _shaping_font(str(font.path), int(font.size))


def text_width(font: ImageFont.FreeTypeFont, text: str, tracking_px: float) -> float:
    if needs_shaping(text):  # shaped as one run: conjuncts are narrower than their letters, no tracking
        return float(shaping_font(font).getlength(text))
    return float(sum(GLYPHS.get(font, ch, 0)[3] for ch in text)) + tracking_px * max(len(text) - 1, 0)


def draw_text(
    canvas: Image.Image,
    xy: tuple[float, float],
    text: str,
    font: ImageFont.FreeTypeFont,
    tracking_px: float,
    stroke: int,
) -> None:
    """Draw ``text`` in white on an "L" canvas glyph by glyph from the glyph cache, ``tracking_px`` apart.

    With the BASIC layout Pillow places glyphs by their advances (our fonts' kerning is in GPOS, which BASIC
    ignores), so this gives the same pixels as one ``ImageDraw.text`` call, about 10x faster.

    Text of a script that needs shaping (``scripts.needs_shaping``: Devanagari and the other complex scripts)
    is drawn in one call through the RAQM layout instead: HarfBuzz forms the conjuncts and half forms and puts
    the i-matra before its consonant, which code point by code point pasting cannot do. Tracking is not applied
    to it (spacing the glyphs would break Devanagari's headline bar).
    """
    x, y = xy
    if needs_shaping(text):
        ImageDraw.Draw(canvas).text(
            (round(x), round(y)),
            text,
            font=shaping_font(font),
            fill=255,
            stroke_width=stroke,
            stroke_fill=255,
            anchor="la",
        )
        return
    for ch in text:
        mask, dx, dy, advance = GLYPHS.get(font, ch, stroke)
        if mask is not None:
            canvas.paste(255, (round(x) + dx, round(y) + dy), mask)
        x += advance + tracking_px


@dataclass
class GlyphStyle:
    font: ImageFont.FreeTypeFont
    tracking_px: float
    stroke: int
    underline: bool
    context: tuple[str, str, str, str]  # left word, right word, line above, line below ('' = none)


def draw_masks(text: str, style: GlyphStyle) -> tuple[np.ndarray, np.ndarray, TextLayout]:
    """Masks (uint8) of the main text and of its context (neighbour words/lines, underline) on one canvas.

    The canvas only holds the ink: the warp samples outside it as empty, so no room for rotation is needed.
    """
    font = style.font
    ascent, descent = font.getmetrics()
    line_h = ascent + descent
    gap = font.getlength(" ") * 1.6 + style.tracking_px
    left, right, above, below = style.context
    wl = text_width(font, left, style.tracking_px) + gap if left else 0.0
    wm = text_width(font, text, style.tracking_px)
    wr = text_width(font, right, style.tracking_px) + gap if right else 0.0
    mx = int(line_h * 0.3) + 2 * style.stroke + 2  # italic overhang and strokes
    lead = line_h * 1.15
    my_top = int(lead) + mx if above else mx
    my_bottom = int(lead) + mx if below else mx
    width = int(wl + wm + wr) + 2 * mx + 1
    height = int(line_h) + my_top + my_bottom + 1
    y = my_top + style.stroke
    x = mx + style.stroke + wl
    main = Image.new("L", (width, height), 0)
    draw_text(main, (x, y), text, font, style.tracking_px, style.stroke)
    ctx = Image.new("L", (width, height), 0)
    if left:
        draw_text(ctx, (x - wl, y), left, font, style.tracking_px, style.stroke)
    if right:
        draw_text(ctx, (x + wm + gap, y), right, font, style.tracking_px, style.stroke)
    if above:
        draw_text(ctx, (mx * 0.5, y - lead), above, font, style.tracking_px, style.stroke)
    if below:
        draw_text(ctx, (mx * 0.5, y + lead), below, font, style.tracking_px, style.stroke)
    if style.underline:
        uy = y + ascent + max(1.0, descent * 0.4)
        ImageDraw.Draw(ctx).line(
            [(x - gap * 0.4, uy), (x + wm + gap * 0.4, uy)], fill=255, width=max(1, round(line_h / 18))
        )
    layout = TextLayout(x0=x, y_top=y, width=wm, line_h=line_h)
    return np.asarray(main), np.asarray(ctx), layout


# --- geometry
# ------------------------------------------------------------------------------------------------
def text_homography(
    rng: np.random.Generator, layout: TextLayout, preset: Preset, shear: float, scale: float = 1.0
) -> np.ndarray:
    """One 3×3 transform for scale, italic shear, rotation and perspective, from where the text corners go."""
    x0, y0 = layout.x0, layout.y_top
    x1, y1 = x0 + max(layout.width, 1.0), y0 + layout.line_h
    src = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)
    centre = src.mean(axis=0)
    pts = (src - centre) * scale
    pts[:, 0] -= shear * pts[:, 1]
    angle = np.deg2rad(rng.uniform(-preset.rotate_deg, preset.rotate_deg))
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]], np.float32)
    pts = pts @ rot.T
    if preset.perspective > 0:
        # scaled by the shorter side: the same pixel jitter on a 2-letter word would fold the plane
        amount = preset.perspective * min(layout.line_h, max(layout.width, 1.0)) * scale
        jitter = rng.uniform(-1, 1, size=(4, 2)).astype(np.float32) * amount
        # a keystone (one side taller) is the common camera view; free jitter otherwise
        if rng.random() < 0.6:
            k = float(rng.uniform(-1, 1)) * amount
            jitter = jitter * 0.3 + np.array([[0, -k], [0, k], [0, -k], [0, k]], np.float32)
        pts = pts + jitter
    return cv2.getPerspectiveTransform(src, (pts + centre).astype(np.float32))


def crop_window(
    rng: np.random.Generator, hom: np.ndarray, box: tuple[int, int, int, int], preset: Preset
) -> tuple[int, int, int, int]:
    """Where a detector would crop: the warped ink box grown (or slightly cut) by random amounts per side.

    The box is that of the warped corners of the unwarped ink box, so rotated words get the looser
    axis-aligned box a detector's rectangle would give them.
    """
    x0, y0, x1, y1 = box
    corners = np.array([[[x0, y0], [x1, y0], [x1, y1], [x0, y1]]], np.float32)
    warped = cv2.perspectiveTransform(corners, hom)[0]
    wx0, wy0 = warped.min(axis=0)
    wx1, wy1 = warped.max(axis=0)
    th = max(float(wy1 - wy0), 2.0)
    pads = np.concatenate([rng.uniform(*preset.pad_x, size=2), rng.uniform(*preset.pad_y, size=2)]) * th
    cx0, cx1 = int(np.floor(wx0 - pads[0])), int(np.ceil(wx1 + pads[1]))
    cy0, cy1 = int(np.floor(wy0 - pads[2])), int(np.ceil(wy1 + pads[3]))
    if cx1 - cx0 < 3:
        cx0, cx1 = int(wx0), int(np.ceil(wx1)) + 1
    if cy1 - cy0 < 3:
        cy0, cy1 = int(wy0), int(np.ceil(wy1)) + 1
    return cx0, cy0, max(cx1 - cx0, 3), max(cy1 - cy0, 3)


def curve_masks(masks: np.ndarray, sag: float) -> np.ndarray:
    """Bend along a parabola (text on a curved surface or a bulging page); ``sag`` in pixels at the ends."""
    h, w = masks.shape[:2]
    xs = np.arange(w, dtype=np.float32)
    dy = sag * ((xs - w / 2) / (w / 2)) ** 2
    map_x = np.broadcast_to(xs[None, :], (h, w)).astype(np.float32)
    map_y = (np.arange(h, dtype=np.float32)[:, None] - dy[None, :]).astype(np.float32)
    return cv2.remap(masks, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def ink_box(mask: np.ndarray, threshold: int = 40) -> tuple[int, int, int, int] | None:
    """The bounding box (x0, y0, x1, y1) of a mask's ink, or None when there is none."""
    x, y, w, h = cv2.boundingRect((mask > threshold).astype(np.uint8))
    return None if w == 0 or h == 0 else (x, y, x + w, y + h)


# --- compositing
# ---------------------------------------------------------------------------------------------
def composite(rng: np.random.Generator, alpha: np.ndarray, preset: Preset, bg_kind: str) -> np.ndarray:
    """Ink over a background, with an optional drop shadow or outline (scene signs); returns RGB uint8."""
    h, w = alpha.shape
    bg_colour, ink = sample_colours(rng, preset.colour, preset.paper)
    img = make_background(rng, h, w, bg_colour, bg_kind)
    line_px = max(h / 2, 2.0)
    if rng.random() < preset.shadow_p:
        dx, dy = (rng.uniform(-0.08, 0.08, 2) * line_px).astype(np.float32)
        shifted = cv2.warpAffine(alpha, np.float32([[1, 0, dx], [0, 1, dy]]), (w, h))
        shadow = cv2.GaussianBlur(shifted, (0, 0), float(rng.uniform(0.3, 2.0))) * float(rng.uniform(0.5, 0.9))
        shade = bg_colour * 0.25 if luminance(ink) > luminance(bg_colour) else bg_colour * 0.5
        img = img * (1 - shadow[..., None]) + shade * shadow[..., None]
    if rng.random() < preset.outline_p:
        k = max(1, round(line_px * rng.uniform(0.03, 0.08)))
        ring = cv2.dilate(alpha, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1)))
        edge = np.full(3, 0.0 if luminance(ink) > 128 else 255.0, np.float32)
        img = img * (1 - ring[..., None]) + edge * ring[..., None]
    img = img * (1 - alpha[..., None]) + ink * alpha[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)


def choose(rng: np.random.Generator, weights: Mapping[str, float]) -> str:
    """A key drawn with probability proportional to its weight (bisect: ``rng.choice(p=)`` is 20× slower)."""
    keys = list(weights)
    cum = list(accumulate(weights[k] for k in keys))
    return keys[min(bisect_right(cum, rng.random() * cum[-1]), len(keys) - 1)]


def render_crop(
    text: str,
    font_info: FontInfo,
    font_cache: FontCache,
    preset: Preset,
    rng: np.random.Generator,
    context_text: tuple[str, str, str, str] = ("", "", "", ""),
    max_px: int | None = None,
) -> np.ndarray:
    """Render ``text`` in ``font_info`` with ``preset``'s looks and degradations; RGB uint8, capture size.

    ``max_px`` caps the font size: when crops are resized to a small height anyway, drawing them bigger only
    costs time.
    """
    wanted = float(np.exp(rng.uniform(np.log(preset.font_px[0]), np.log(preset.font_px[1]))))
    if max_px is not None:
        wanted = max(6.0, min(wanted, float(max_px)))
    # draw at the next size of a coarse ladder (few faces to load and cache) and let the warp scale it
    size = ladder_size(wanted)
    font = font_cache.get(font_info.path, size)
    tracking = float(rng.uniform(*preset.tracking)) * size if rng.random() < preset.tracking_p else 0.0
    stroke = (
        max(1, round(size * float(rng.uniform(0.02, 0.05))))
        if (rng.random() < preset.bold_p and not font_info.bold and size >= 16)
        else 0
    )
    shear = (
        float(rng.uniform(0.12, 0.3)) * (1 if rng.random() < 0.9 else -1)
        if (rng.random() < preset.shear_p and not font_info.italic)
        else 0.0
    )
    style = GlyphStyle(
        font=font,
        tracking_px=tracking,
        stroke=stroke,
        underline=rng.random() < preset.underline_p,
        context=context_text,
    )
    main, ctx, layout = draw_masks(text, style)
    box = ink_box(main) or (
        int(layout.x0),
        int(layout.y_top),
        int(layout.x0 + layout.width) + 1,
        int(layout.y_top + layout.line_h),
    )
    hom = text_homography(rng, layout, preset, shear, wanted / size)
    x, y, w, h = crop_window(rng, hom, box, preset)
    to_crop = np.array([[1, 0, -x], [0, 1, -y], [0, 0, 1]], np.float64) @ hom
    # one warp straight into the crop: the cost scales with the crop, not with the canvas
    masks = cv2.warpPerspective(np.dstack([main, ctx]), to_crop, (w, h), flags=cv2.INTER_LINEAR)
    if rng.random() < preset.curve_p:
        masks = curve_masks(masks, float(rng.uniform(-1, 1)) * preset.curve * layout.line_h)
    alpha = np.maximum(masks[..., 0], masks[..., 1]).astype(np.float32) * (1.0 / 255.0)
    alpha = degrade_ink(alpha, rng, preset, heavy=stroke > 0 or font_info.bold)
    img = composite(rng, alpha, preset, choose(rng, preset.backgrounds))
    return degrade_image(img, rng, preset)
