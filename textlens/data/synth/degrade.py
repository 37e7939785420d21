"""Degradations for synthetic text: ink effects on the glyph mask and optical/sensor/compression effects on
the crop.

Ink effects (bleed, erosion, fading, thermal streaks, speckle) act on the float alpha mask before compositing,
at capture resolution, so they look like ink and not like a filter. Image effects (blur, uneven light, noise,
binarisation, resampling, JPEG) act on the composited RGB crop in the order a camera or scanner applies them.
All randomness comes from the ``Generator`` passed in.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from textlens.data.synth.presets import Preset


def _u(rng: np.random.Generator, r: tuple[float, float]) -> float:
    return float(rng.uniform(r[0], r[1]))


# --- ink
# -----------------------------------------------------------------------------------------------------
def soft_morph(alpha: np.ndarray, amount: float) -> np.ndarray:
    """Thicken (amount > 0, ink bleed) or thin (amount < 0, erosion) strokes by sub-pixel amounts.

    A blur followed by a shifted threshold ramp moves the stroke edge by a fraction of a pixel, which a 3×3
    dilation cannot do at the 10-px text sizes of low-resolution scans.
    """
    blurred = cv2.GaussianBlur(alpha, (0, 0), 0.5 + 0.3 * abs(amount))
    centre = 0.5 - 0.3 * float(np.clip(amount, -1, 1))
    return np.clip((blurred - centre) * 2.5 + 0.5, 0, 1) * np.maximum(alpha.max(), 1e-3)


def thermal_streaks(alpha: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Thermal-printer head defects: a few columns print faint for the whole line, plus a slow fade across
    it."""
    w = alpha.shape[1]
    cols = np.ones(w, np.float32)
    for _ in range(int(rng.integers(1, 5))):
        x = int(rng.integers(0, w))
        width = int(rng.integers(1, 3))
        cols[x : x + width] *= float(rng.uniform(0.05, 0.6))
    ramp = np.linspace(1.0, float(rng.uniform(0.55, 1.0)), w, dtype=np.float32)
    if rng.random() < 0.5:
        ramp = ramp[::-1]
    return alpha * (cols * ramp)[None, :]


def speckle(alpha: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Broken ink: multiplicative grain that leaves holes in strokes (dot-matrix, worn ribbons, faint
    toner)."""
    grain = np.abs(noise_field(rng, *alpha.shape)) * 0.6  # half-normal, mean ~0.5
    return alpha * np.clip(1.0 - strength * (grain**2) * 1.6, 0, 1)


def degrade_ink(alpha: np.ndarray, rng: np.random.Generator, preset: Preset, heavy: bool = False) -> np.ndarray:
    """All ink-level effects of a preset on a float32 alpha mask in [0, 1]; ``heavy``: bold text, bleed
    less."""
    if rng.random() < preset.bleed_p * (0.3 if heavy else 1.0):
        alpha = soft_morph(alpha, float(rng.uniform(0.1, 0.5)))
    elif rng.random() < preset.erode_p:
        alpha = soft_morph(alpha, -float(rng.uniform(0.1, 0.6)))
    if rng.random() < preset.streak_p:
        alpha = thermal_streaks(alpha, rng)
    if rng.random() < preset.grain_p:
        alpha = speckle(alpha, rng, float(rng.uniform(0.15, 0.5)))
    return alpha * _u(rng, preset.ink)


# --- optics and sensor
# ---------------------------------------------------------------------------------------
def gaussian_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(img, (0, 0), sigma) if sigma > 0.05 else img


def motion_blur(img: np.ndarray, length: float, angle_deg: float) -> np.ndarray:
    """Camera shake: a line kernel of ``length`` px at ``angle_deg``."""
    k = max(3, round(length) | 1)
    kernel = np.zeros((k, k), np.float32)
    kernel[k // 2, :] = 1.0
    rot = cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), angle_deg, 1.0)
    kernel = cv2.warpAffine(kernel, rot, (k, k))
    return cv2.filter2D(img, -1, kernel / max(kernel.sum(), 1e-6), borderType=cv2.BORDER_REFLECT)


def defocus_blur(img: np.ndarray, radius: float) -> np.ndarray:
    """Out-of-focus lens: a disc kernel (bokeh), unlike the Gaussian of a soft lens."""
    r = max(1, round(radius))
    kernel = np.zeros((2 * r + 1, 2 * r + 1), np.float32)
    cv2.circle(kernel, (r, r), r, 1.0, -1, lineType=cv2.LINE_AA)
    return cv2.filter2D(img, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REFLECT)


def uneven_light(img: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """A smooth illumination field (vignette or a light gradient) multiplied onto the crop."""
    h, w = img.shape[:2]
    field = rng.uniform(1.0 - strength, 1.0 + strength * 0.4, size=(2, 3)).astype(np.float32)
    field = cv2.resize(field, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(img.astype(np.float32) * field[..., None], 0, 255).astype(np.uint8)


_BANK_SHAPE = (256, 1024)


@lru_cache(maxsize=1)
def _noise_bank() -> np.ndarray:
    """A fixed block of N(0, 1) noise; a random window of it is as good as fresh noise and 5× cheaper."""
    return np.random.default_rng(20240611).standard_normal(_BANK_SHAPE, dtype=np.float32)


def noise_field(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """An h×w float32 N(0, 1) field (a random, possibly flipped window of the bank; fresh when too big)."""
    bh, bw = _BANK_SHAPE
    if h > bh or w > bw:
        return rng.standard_normal((h, w), dtype=np.float32)
    y, x = int(rng.integers(0, bh - h + 1)), int(rng.integers(0, bw - w + 1))
    window = _noise_bank()[y : y + h, x : x + w]
    return window[::-1] if rng.random() < 0.5 else window


def gaussian_noise(img: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    if sigma < 0.5:
        return img
    h, w = img.shape[:2]
    noise = noise_field(rng, h, w)[..., None] * sigma
    if rng.random() < 0.3:  # colour noise now and then, luminance noise mostly
        noise = noise + noise_field(rng, h, w * 3).reshape(h, w, 3) * (sigma * 0.4)
    return np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def salt_pepper(img: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """Isolated black and white specks, as on binarised scans and faxes."""
    out = img.copy()
    r = rng.random(img.shape[:2])
    out[r < amount / 2] = 0
    out[r > 1 - amount / 2] = 255
    return out


def binarize(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Scanner binarisation: a noisy global threshold (jagged, broken strokes), as in FUNSD and fax pages."""
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    grey += noise_field(rng, *grey.shape) * float(rng.uniform(2, 10))
    grey8 = np.clip(grey, 0, 255).astype(np.uint8)
    otsu, _ = cv2.threshold(grey8, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    threshold = otsu + float(rng.uniform(-25, 10))  # mostly on the thin side: a dark threshold fills counters
    binary = np.where(grey > threshold, 255, 0).astype(np.uint8)
    return cv2.cvtColor(binary, cv2.COLOR_GRAY2RGB)


def resample(img: np.ndarray, factor: float) -> np.ndarray:
    """Capture at lower resolution, then scale back: loses stroke detail like a far camera or a 100-dpi
    scan."""
    h, w = img.shape[:2]
    sh, sw = max(4, round(h * factor)), max(4, round(w * factor))
    small = cv2.resize(img, (sw, sh), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if ok else img


def degrade_image(img: np.ndarray, rng: np.random.Generator, preset: Preset) -> np.ndarray:
    """The optical, sensor and compression effects of a preset on an RGB uint8 crop (same size out)."""
    h = img.shape[0]
    if rng.random() < preset.binarize_p:  # the scanner thresholds first; later blur and resampling grey the edges
        img = binarize(img, rng)
    scale = float(np.clip(h / 32.0, 0.5, 1.5))  # blur sizes are specified for a 32-px crop
    if rng.random() < preset.defocus_p:
        img = defocus_blur(img, float(rng.uniform(0.6, 1.5)) * scale)
    elif rng.random() < preset.motion_p:
        img = motion_blur(img, float(rng.uniform(1.5, 4)) * scale, float(rng.uniform(-180, 180)))
    if rng.random() < preset.blur_p:
        img = gaussian_blur(img, _u(rng, preset.blur_sigma) * min(scale, 2.0))
    if rng.random() < preset.light_p:
        img = uneven_light(img, rng, float(rng.uniform(0.1, 0.5)))
    if rng.random() < preset.saltpepper_p:
        img = salt_pepper(img, rng, float(rng.uniform(0.001, 0.02)))
    img = gaussian_noise(img, rng, _u(rng, preset.noise_sigma))
    if rng.random() < preset.resample_p:
        # never below ~11 px of crop height: smaller than that the text is gone, not degraded
        img = resample(img, max(_u(rng, preset.resample), min(1.0, 11.0 / h)))
    if rng.random() < preset.grey_p:
        img = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    if rng.random() < preset.jpeg_p:
        img = jpeg(img, int(rng.uniform(*preset.jpeg_q)))
    return img
