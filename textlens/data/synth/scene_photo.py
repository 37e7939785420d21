"""Text on photographs (the ``scene_photo`` page kind): where text may go, in what colour, under what light.

A depth-free version of SynthText's placement: instead of segmenting the photo and fitting planes, text is put
where the photo is smooth. ``busy_map`` is the photo's gradient magnitude at a quarter of its size, blurred; a
text block's warped bounding box may go wherever the box's mean "busyness" is under ``SMOOTH`` and the grey
level varies by less than ``MAX_STD`` inside it (one region, not two flat areas and the edge between them),
not over text already placed (``find_place``: integral images give every position at once).
``PageRenderer._scene_photo`` (``textlens.data.synth.pages``) draws the words and keeps their quads; this module
holds the photo-side steps: placement, colours contrasting with the local background, the photo's own light on
the text, occluders and cast shadows. Only the caller's ``Generator`` supplies randomness.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from textlens.data.synth.render import Colour, luminance

FACTOR = 4  # the busy map's cell, in page pixels
SMOOTH = 9.0  # mean gradient magnitude (grey levels per pixel at 1/4 scale) under which a region is smooth
MAX_STD = 24.0  # standard deviation of the grey level inside a text block's box
MIN_CONTRAST = 70.0  # luminance difference between text and its local background


def grey_map(image: np.ndarray, factor: int = FACTOR) -> np.ndarray:
    """The photo's grey level at 1/``factor`` scale (float32)."""
    h, w = image.shape[:2]
    small = cv2.resize(image, (max(1, w // factor), max(1, h // factor)), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small.astype(np.float32), cv2.COLOR_RGB2GRAY)


def busy_map(image: np.ndarray, factor: int = FACTOR, grey: np.ndarray | None = None) -> np.ndarray:
    """How busy the photo is around each ``factor``×``factor`` cell: blurred gradient magnitude of the grey
    image at 1/``factor`` scale (float32, grey levels per cell)."""
    grey = grey_map(image, factor) if grey is None else grey
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    return cv2.GaussianBlur(cv2.magnitude(gx, gy) / 4.0, (0, 0), 1.5)


def window_means(values: np.ndarray, kw: int, kh: int) -> np.ndarray:
    """Mean of ``values`` over every kh×kw window, indexed by the window's top-left cell."""
    s = cv2.integral(values.astype(np.float64))
    total = s[kh:, kw:] - s[:-kh, kw:] - s[kh:, :-kw] + s[:-kh, :-kw]
    return total / float(kw * kh)


def find_place(
    rng: np.random.Generator,
    busy: np.ndarray,
    occupied: np.ndarray,
    box_w: float,
    box_h: float,
    threshold: float = SMOOTH,
    factor: int = FACTOR,
    grey: np.ndarray | None = None,
    max_std: float = MAX_STD,
) -> tuple[float, float] | None:
    """Top-left page position for a ``box_w``×``box_h`` box on a smooth, free part of the photo, or None.

    Among the positions whose window mean of ``busy`` is under ``threshold``, whose ``grey`` level (when given)
    varies by less than ``max_std``, and that touch no ``occupied`` cell, one is drawn with weight falling with
    the busyness (smoother spots are likelier).
    """
    hs, ws = busy.shape
    kw, kh = max(1, math.ceil(box_w / factor)), max(1, math.ceil(box_h / factor))
    if kw >= ws or kh >= hs:
        return None
    means = window_means(busy, kw, kh)
    taken = window_means(occupied.astype(np.float32), kw, kh) > 0
    ok = (means < threshold) & ~taken
    if grey is not None:
        mean = window_means(grey, kw, kh)
        ok &= window_means(grey * grey, kw, kh) - mean * mean < max_std * max_std
    ys, xs = np.nonzero(ok)
    if len(ys) == 0:
        return None
    weights = np.exp(-means[ys, xs] / max(threshold * 0.5, 1e-6))
    pick = int(np.searchsorted(np.cumsum(weights), rng.random() * weights.sum()))
    pick = min(pick, len(ys) - 1)
    jitter = rng.uniform(0, factor, 2)
    return float(xs[pick] * factor + jitter[0]), float(ys[pick] * factor + jitter[1])


def mark_occupied(occupied: np.ndarray, quad: np.ndarray, margin: float, factor: int = FACTOR) -> None:
    """Mark the cells under a page-pixel polygon, grown by ``margin`` pixels, as taken."""
    centre = quad.mean(axis=0)
    vec = quad - centre
    norm = np.linalg.norm(vec, axis=1, keepdims=True) + 1e-6
    grown = (centre + vec + vec / norm * margin) / factor
    cv2.fillPoly(occupied, [np.round(grown).astype(np.int32)], 1)


def contrast_colour(rng: np.random.Generator, background: Colour) -> Colour:
    """A text colour whose luminance differs from ``background``'s by at least ``MIN_CONTRAST``: near black or
    white a third of the time, else a random hue (saturated paint, pastel, dark) pushed away in brightness."""
    bg_lum = luminance(background)
    go_dark = bg_lum > 128 if rng.random() < 0.9 else bg_lum > 200
    if go_dark and bg_lum < MIN_CONTRAST:
        go_dark = False
    if not go_dark and bg_lum > 255 - MIN_CONTRAST:
        go_dark = True
    if rng.random() < 0.35:
        level = rng.uniform(0, 45) if go_dark else rng.uniform(215, 255)
        return np.clip(np.full(3, level) + rng.uniform(-10, 10, 3), 0, 255).astype(np.float32)
    for _ in range(16):
        hsv = np.array([[[rng.uniform(0, 180), rng.uniform(60, 255), rng.uniform(0, 255)]]], np.float32)
        colour = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32)
        lum = luminance(colour)
        if (lum < bg_lum - MIN_CONTRAST) if go_dark else (lum > bg_lum + MIN_CONTRAST):
            return colour
    return np.full(3, 0.0 if go_dark else 255.0, np.float32)


def local_background(image: np.ndarray, alpha: np.ndarray, x0: int, y0: int) -> Colour:
    """Median colour of the photo around the text whose ``alpha`` patch sits at (x0, y0)."""
    h, w = alpha.shape
    region = image[y0 : y0 + h, x0 : x0 + w]
    near = cv2.dilate((alpha > 0.1).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    pixels = region[near[: region.shape[0], : region.shape[1]]]
    return np.median(pixels, axis=0).astype(np.float32) if len(pixels) else region.reshape(-1, 3).mean(axis=0)


def shading(region: np.ndarray, strength: float) -> np.ndarray:
    """The photo's own light over a patch (h×w×1 gain within 0.75-1.25): text painted on a surface darkens a
    little in its shadows and brightens in its highlights. Kept mild: a dark patch may be paint, not shade, and
    must not swallow text chosen to contrast with the patch's median."""
    h, w = region.shape[:2]
    grey = cv2.cvtColor(region.astype(np.float32), cv2.COLOR_RGB2GRAY)
    small = cv2.resize(grey, (max(1, w // 8), max(1, h // 8)), interpolation=cv2.INTER_AREA)  # blurred anyway
    light = cv2.GaussianBlur(small, (0, 0), max(1.0, min(small.shape) / 4))
    light = cv2.resize(light, (w, h), interpolation=cv2.INTER_LINEAR)
    gain = (light + 32.0) / (float(light.mean()) + 32.0)
    return (gain**strength).clip(0.75, 1.25)[..., None]


def cast_shadow(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """A large soft shadow (a random polygon, blurred) darkening part of the photo."""
    h, w = image.shape[:2]
    sw, sh = max(1, w // 8), max(1, h // 8)  # drawn and blurred at 1/8 scale: the shadow is soft anyway
    mask = np.zeros((sh, sw), np.float32)
    centre = rng.uniform([0, 0], [sw, sh])
    n = int(rng.integers(3, 7))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radius = rng.uniform(0.3, 0.9, n) * max(sw, sh)
    points = centre + np.stack([np.cos(angles), np.sin(angles)], axis=1) * radius[:, None]
    cv2.fillPoly(mask, [np.round(points * 16).astype(np.int32)], 1.0, cv2.LINE_AA, shift=4)
    mask = cv2.GaussianBlur(mask, (0, 0), max(0.5, float(rng.uniform(0.01, 0.06)) * max(sw, sh)))
    mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)
    depth = float(rng.uniform(0.3, 0.6))
    return image * (1.0 - depth * mask[..., None])


def occluder(rng: np.random.Generator, image: np.ndarray, quad: np.ndarray, clean: np.ndarray) -> np.ndarray:
    """Cover part of a text block with a foreground object: a patch of the photo from elsewhere, taken from
    ``clean`` (the photo before any text was drawn, so no unlabelled text is copied), or a dark blob, in a random
    ellipse or bar over one side of ``quad``. Returns the float32 cover mask (0..1); ``image`` (float32) is
    changed in place."""
    h, w = image.shape[:2]
    x0, y0 = quad.min(axis=0)
    x1, y1 = quad.max(axis=0)
    bw, bh = max(x1 - x0, 2.0), max(y1 - y0, 2.0)
    mask = np.zeros((h, w), np.float32)
    cx = float(rng.choice([x0, x1])) + rng.uniform(-0.2, 0.2) * bw
    cy = rng.uniform(y0, y1)
    if rng.random() < 0.6:
        axes = (int(rng.uniform(0.15, 0.45) * bw) + 2, int(rng.uniform(0.4, 1.2) * bh) + 2)
        cv2.ellipse(mask, (int(cx), int(cy)), axes, float(rng.uniform(0, 180)), 0, 360, 1.0, -1, cv2.LINE_AA)
    else:
        thick = int(rng.uniform(0.05, 0.25) * bw) + 2
        top = (int(cx + rng.uniform(-0.2, 0.2) * bw), int(y0 - bh))
        bottom = (int(cx + rng.uniform(-0.2, 0.2) * bw), int(y1 + bh))
        cv2.line(mask, top, bottom, 1.0, thick, cv2.LINE_AA)
    mask = cv2.GaussianBlur(mask, (0, 0), float(rng.uniform(0.5, 2.0)))
    if rng.random() < 0.7:
        dx, dy = rng.uniform(-0.5, 0.5) * w, rng.uniform(-0.5, 0.5) * h
        cover = cv2.warpAffine(clean, np.float32([[1, 0, dx], [0, 1, dy]]), (w, h), borderMode=cv2.BORDER_REFLECT)
    else:
        cover = np.empty_like(image)
        cover[:] = rng.uniform(0, 80, 3).astype(np.float32)
    image *= 1 - mask[..., None]
    image += cover * mask[..., None]
    return mask


def covered_fraction(quad: np.ndarray, cover: np.ndarray) -> float:
    """Share of a page-pixel quad's area under ``cover`` (0..1)."""
    x0, y0 = np.floor(quad.min(axis=0)).astype(int)
    x1, y1 = np.ceil(quad.max(axis=0)).astype(int)
    h, w = cover.shape
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1 + 1), min(h, y1 + 1)
    if x1 <= x0 or y1 <= y0:
        return 0.0
    inside = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(inside, [np.round(quad - [x0, y0]).astype(np.int32)], 1)
    area = int(inside.sum())
    return float((cover[y0:y1, x0:x1] * inside).sum() / area) if area else 0.0
