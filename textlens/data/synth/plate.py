"""Synthetic licence plates: a plate face per region (colours, border, EU band, state banner) drawn in the closest
Debian faces to the plate typefaces, worn (dirt, tilt, night, motion blur), and mounted on the back of a drawn car
in a scene (a wallpaper crop from ``backgrounds.py`` when installed, else a drawn street-like background).

Debian packages no plate typeface (FE-Schrift, Charles Wright, Mandatory); ``PLATE_FACES`` lists the condensed
DIN-like grotesques installed by the Makefile's ``APT_PACKAGES``, found through fontconfig. The ground truth of
a scene is each plate's compact string (letters and digits), its format, and its quad and box in image pixels.
Only the caller's ``Generator`` supplies randomness, so a seed gives the same scene.
"""

from __future__ import annotations

import functools
import subprocess
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from textlens.data.synth.degrade import gaussian_noise, jpeg, motion_blur

# Condensed grotesques nearest to DIN 1451 / FE-Schrift / Charles Wright, as fontconfig patterns.
PLATE_FACES = (
    "DejaVu Sans Condensed:bold",
    "Roboto Condensed:bold",
    "Roboto Condensed:medium",
    "Liberation Sans Narrow:bold",
    "Nimbus Sans Narrow:bold",
    "PT Sans Narrow:bold",
    "Switzera ADF:style=Bold Cond",
    "Gillius ADF:style=Bold Cond",
)
HELDOUT_FACES = ("PT Sans Narrow:bold", "Gillius ADF:style=Bold Cond")  # never in a recogniser's training crops
EU_BAND = {"DE": "D", "FR": "F", "NL": "NL", "IT": "I", "ES": "E", "PL": "PL", "GB": "UK"}
US_BANNER = {"US-CA": "California", "US-NY": "NEW YORK", "US-FL": "Florida", "US-IL": "Illinois"}
YELLOW = (247, 209, 23)
EU_BLUE = (0, 51, 153)
PLATE_HEIGHT = 112  # face pixels; EU plates are 520 × 110-112 mm, US plates 12 × 6 in


@functools.cache
def plate_faces(split: str = "all") -> tuple[Path, ...]:
    """The installed files of ``PLATE_FACES`` (fontconfig's match when its family is the one asked for); ``split``
    "train" leaves out ``HELDOUT_FACES`` (kept for evaluation), "heldout" gives only those."""
    found: list[Path] = []
    patterns = {"all": PLATE_FACES, "train": [p for p in PLATE_FACES if p not in HELDOUT_FACES],
                "heldout": HELDOUT_FACES}[split]  # fmt: skip
    for pattern in patterns:
        try:
            out = subprocess.run(["fc-match", "-f", "%{family}|%{file}", pattern], capture_output=True, text=True,
                                 timeout=10, check=False).stdout  # fmt: skip
        except (OSError, subprocess.SubprocessError):
            continue
        family, _, file = out.partition("|")
        wanted = pattern.split(":")[0].lower()
        if file and wanted in family.lower() and Path(file).suffix.lower() in (".ttf", ".otf"):
            path = Path(file)
            if path not in found:
                found.append(path)
    return tuple(found)


def _font(path: Path | None, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if path is None:
        return ImageFont.load_default(size)
    return ImageFont.truetype(str(path), size)


@dataclass(frozen=True)
class PlateTruth:
    """One plate in a scene: compact string, display string, format key, quad (4×2, clockwise from top-left)
    and box (x0, y0, x1, y1) in image pixels, and the quad of its line of characters."""

    plate: str
    display: str
    format: str
    region: str
    quad: np.ndarray
    box: tuple[float, float, float, float]
    text_quad: np.ndarray

    def to_dict(self) -> dict[str, object]:
        return {"plate": self.plate, "display": self.display, "format": self.format, "region": self.region,
                "box": [round(float(v), 1) for v in self.box],
                "quad": [[round(float(x), 1), round(float(y), 1)] for x, y in self.quad],
                "text_quad": [[round(float(x), 1), round(float(y), 1)] for x, y in self.text_quad]}  # fmt: skip


def _fit_text(draw: ImageDraw.ImageDraw, text: str, font_path: Path | None, height: int, width: int) -> tuple:
    """The font size giving capitals ``height`` px tall, and a horizontal squeeze so the text fits ``width``."""
    size = height
    font = _font(font_path, size)
    top, bottom = font.getbbox("H")[1], font.getbbox("H")[3]
    size = max(8, round(size * height / max(bottom - top, 1)))
    font = _font(font_path, size)
    x0, _, x1, _ = draw.textbbox((0, 0), text, font=font)
    return font, min(1.0, width / max(x1 - x0, 1))


def draw_face(
    rng: np.random.Generator, region: str, display: str, font_path: Path | None
) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The plate face (RGB uint8) of ``display`` in the style of ``region`` (GB, DE, …, US-CA, IN), and the box of
    its line of characters (x0, y0, x1, y1, face pixels: the capitals' height)."""
    us = region.startswith("US")
    h = PLATE_HEIGHT * 2 if us else PLATE_HEIGHT
    w = PLATE_HEIGHT * 4 if us else int(PLATE_HEIGHT * rng.uniform(4.2, 4.7))
    background = (255, 255, 255)
    if region == "NL" or (region == "GB" and rng.random() < 0.5):
        background = YELLOW
    if us:
        background = (250, 250, 245) if region != "US-NY" else (248, 226, 160)
    tint = rng.uniform(-12, 6, 3)
    face = Image.new("RGB", (w, h), tuple(int(np.clip(c + t, 0, 255)) for c, t in zip(background, tint, strict=True)))
    draw = ImageDraw.Draw(face)
    ink = (15, 15, 20) if not us else ((20, 30, 110) if region in ("US-CA", "US-NY") else (20, 20, 25))
    border = int(h * 0.035) + 1
    draw.rounded_rectangle((1, 1, w - 2, h - 2), radius=int(h * 0.08), outline=(20, 20, 20), width=border)
    left, right = border * 3, w - border * 3
    band = EU_BAND.get(region) if region != "GB" or rng.random() < 0.5 else None
    if region == "IN" and rng.random() < 0.6:
        band = "IND"
    if band:  # the blue band with the country code (and a ring of stars on EU plates)
        band_w = int(h * 0.42)
        draw.rectangle(
            (border, border, border + band_w, h - border), fill=EU_BLUE if region != "IN" else (255, 255, 255)
        )
        cx, cy, r = border + band_w / 2, h * 0.3, h * 0.14
        for k in range(12 if region != "IN" else 0):
            a = k * np.pi / 6
            sx, sy = cx + r * np.cos(a), cy + r * np.sin(a)
            draw.ellipse((sx - 2, sy - 2, sx + 2, sy + 2), fill=(255, 204, 0))
        code_font, squeeze = _fit_text(draw, band, font_path, int(h * 0.22), band_w - 4)
        code_w = draw.textlength(band, font=code_font) * squeeze
        code_ink = (255, 255, 255) if region != "IN" else (20, 60, 160)
        _draw_squeezed(face, band, code_font, squeeze, (cx - code_w / 2, h * 0.55), code_ink)
        left = border + band_w + border * 2
    if region in ("FR", "IT"):  # the regional band on the right
        draw.rectangle((w - border - int(h * 0.38), border, w - border, h - border), fill=EU_BLUE)
        right = w - border - int(h * 0.38) - border * 2
    text_h, top = int(h * rng.uniform(0.6, 0.68)), h * 0.5
    if us:
        banner = US_BANNER.get(region, "")
        banner_font, squeeze = _fit_text(draw, banner, font_path, int(h * 0.13), int(w * 0.6))
        banner_w = draw.textlength(banner, font=banner_font) * squeeze
        colour = (190, 30, 40) if region in ("US-CA", "US-FL") else (20, 30, 110)
        _draw_squeezed(face, banner, banner_font, squeeze, ((w - banner_w) / 2, h * 0.06), colour)
        text_h, top = int(h * rng.uniform(0.36, 0.42)), h * 0.56
    font, squeeze = _fit_text(draw, display, font_path, text_h, int((right - left) * rng.uniform(0.88, 0.98)))
    text_w = draw.textlength(display, font=font) * squeeze
    ascent = font.getbbox("H")[1]
    y = top - text_h / 2 - ascent
    x0 = left + (right - left - text_w) / 2
    _draw_squeezed(face, display, font, squeeze, (x0, y), ink)
    return np.asarray(face), (float(x0), top - text_h / 2, float(x0 + text_w), top + text_h / 2)


def _draw_squeezed(face: Image.Image, text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
                   squeeze: float, origin: tuple[float, float], colour: tuple) -> None:  # fmt: skip
    """Draw ``text`` horizontally scaled by ``squeeze`` at ``origin`` (plate faces are narrower than the fonts)."""
    _, _, x1, y1 = ImageDraw.Draw(face).textbbox((0, 0), text, font=font)
    mask = Image.new("L", (x1 + 4, y1 + 4), 0)
    ImageDraw.Draw(mask).text((0, 0), text, font=font, fill=255)
    mask = mask.resize((max(1, int(mask.width * squeeze)), mask.height), Image.Resampling.LANCZOS)
    solid = Image.new("RGB", mask.size, tuple(int(c) for c in colour))
    face.paste(solid, (int(origin[0]), int(origin[1])), mask)


def wear(rng: np.random.Generator, face: np.ndarray) -> np.ndarray:
    """Dirt and grime on the face: brown blotches and a darkened lower edge."""
    out = face.astype(np.float32)
    h, w = face.shape[:2]
    if rng.random() < 0.6:
        mask = np.zeros((h, w), np.float32)
        for _ in range(int(rng.integers(2, 9))):
            centre = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
            axes = (int(rng.uniform(0.03, 0.15) * w), int(rng.uniform(0.05, 0.3) * h))
            cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, float(rng.uniform(0.15, 0.5)), -1)
        mask = cv2.GaussianBlur(mask, (0, 0), h * 0.04)
        dirt = np.array([95, 80, 60], np.float32) + rng.uniform(-20, 20, 3)
        out = out * (1 - mask[..., None]) + dirt * mask[..., None]
    if rng.random() < 0.5:
        ramp = np.linspace(0, float(rng.uniform(0.1, 0.35)), h, dtype=np.float32) ** 2 * 4
        out *= 1 - np.clip(ramp, 0, 0.4)[:, None, None]
    return np.clip(out, 0, 255).astype(np.uint8)


def street_background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A drawn stand-in for a photo when no wallpapers are installed: sky or wall above, road below, blocks."""
    image = np.zeros((height, width, 3), np.float32)
    horizon = int(height * rng.uniform(0.35, 0.6))
    top, road = rng.uniform(60, 230, 3), rng.uniform(50, 120) + rng.uniform(-10, 10, 3)
    image[:horizon] = top
    image[horizon:] = road
    for _ in range(int(rng.integers(3, 10))):
        x0, y0 = int(rng.uniform(0, width)), int(rng.uniform(0, horizon))
        cv2.rectangle(image, (x0, y0), (x0 + int(rng.uniform(20, 200)), horizon), rng.uniform(30, 220, 3).tolist(), -1)
    image += rng.normal(0, 6, image.shape).astype(np.float32)
    return np.clip(cv2.GaussianBlur(image, (0, 0), 1.0), 0, 255).astype(np.uint8)


def _background(rng: np.random.Generator, width: int, height: int, photos: bool) -> np.ndarray:
    if photos:
        from textlens.data.synth.backgrounds import default_index

        index = default_index()
        if len(index):
            return index.crop(rng, width, height)
    return street_background(rng, width, height)


def draw_car(rng: np.random.Generator, image: np.ndarray, plate_w: float) -> tuple[float, float]:
    """The back of a car drawn around where the plate goes; returns the plate's centre."""
    h, w = image.shape[:2]
    car_w = plate_w * rng.uniform(3.2, 4.2)
    cx, bottom = w * rng.uniform(0.35, 0.65), h * rng.uniform(0.8, 0.97)
    car_h = car_w * rng.uniform(0.55, 0.75)
    x0, x1, y0 = cx - car_w / 2, cx + car_w / 2, bottom - car_h
    body = rng.uniform(20, 235, 3)
    shade = body * 0.55
    cv2.ellipse(image, (int(cx), int(bottom)), (int(car_w * 0.55), int(car_h * 0.08)), 0, 0, 360, (15, 15, 15), -1)
    cv2.rectangle(image, (int(x0), int(y0 + car_h * 0.35)), (int(x1), int(bottom - car_h * 0.05)), body.tolist(), -1)
    roof = np.array([[x0 + car_w * 0.15, y0], [x1 - car_w * 0.15, y0], [x1 - car_w * 0.02, y0 + car_h * 0.36],
                     [x0 + car_w * 0.02, y0 + car_h * 0.36]], np.int32)  # fmt: skip
    cv2.fillPoly(image, [roof], body.tolist())
    top, low = y0 + car_h * 0.05, y0 + car_h * 0.33
    glass = np.array([[x0 + car_w * 0.2, top], [x1 - car_w * 0.2, top], [x1 - car_w * 0.08, low],
                      [x0 + car_w * 0.08, low]], np.int32)  # fmt: skip
    cv2.fillPoly(image, [glass], (rng.uniform(20, 70, 3)).tolist())
    light_y = int(y0 + car_h * 0.45)
    for lx in (x0 + car_w * 0.04, x1 - car_w * 0.16):
        cv2.rectangle(image, (int(lx), light_y), (int(lx + car_w * 0.12), int(light_y + car_h * 0.12)),
                      (int(rng.uniform(150, 230)), 20, 25), -1)  # fmt: skip
    bumper_y = int(bottom - car_h * 0.25)
    cv2.rectangle(image, (int(x0), bumper_y), (int(x1), int(bottom - car_h * 0.05)), shade.tolist(), -1)
    return cx, y0 + car_h * rng.uniform(0.6, 0.7)


@dataclass(frozen=True)
class PlateScene:
    image: np.ndarray
    plates: tuple[PlateTruth, ...]
    conditions: dict[str, object]


def render_plate_scene(
    rng: np.random.Generator,
    display: str,
    region: str,
    format_key: str = "",
    width: int = 640,
    height: int = 480,
    photos: bool = True,
    faces: tuple[Path, ...] | None = None,
    effects: bool = True,
) -> PlateScene:
    """One car with the plate ``display`` (as printed, separators included) of ``region`` in a scene; ``photos``:
    a wallpaper behind it when any is installed; ``effects``: dirt, night, motion blur and JPEG now and then (off:
    a clean plate, still tilted, for tests). The truth's ``plate`` is the compact string."""
    faces = plate_faces() if faces is None else faces
    font = faces[int(rng.integers(len(faces)))] if faces else None
    face, line = draw_face(rng, region, display, font)
    face = wear(rng, face) if effects else face
    image = _background(rng, width, height, photos).astype(np.float32)
    fh, fw = face.shape[:2]
    plate_w = float(rng.uniform(0.17, 0.32) * width) * (0.6 if fw / fh < 3 else 1.0)
    image_u8 = np.clip(image, 0, 255).astype(np.uint8)
    cx, cy = draw_car(rng, image_u8, plate_w)
    scale = plate_w / fw
    # Tilt: roll, and yaw/pitch as a perspective squeeze of one side.
    roll = np.deg2rad(float(np.clip(rng.normal(0, 4), -10, 10)))
    yaw = float(np.clip(rng.normal(0, 0.05), -0.12, 0.12))
    pitch = float(np.clip(rng.normal(0, 0.03), -0.08, 0.08))
    corners = np.array([[-fw / 2, -fh / 2], [fw / 2, -fh / 2], [fw / 2, fh / 2], [-fw / 2, fh / 2]]) * scale
    corners[:, 1] *= np.where(corners[:, 0] > 0, 1 - yaw, 1 + yaw)
    corners[:, 0] *= np.where(corners[:, 1] > 0, 1 - pitch, 1 + pitch)
    rotation = np.array([[np.cos(roll), -np.sin(roll)], [np.sin(roll), np.cos(roll)]])
    quad = (corners @ rotation.T + [cx, cy]).astype(np.float32)
    source = np.array([[0, 0], [fw, 0], [fw, fh], [0, fh]], np.float32)
    matrix = cv2.getPerspectiveTransform(source, quad)
    warped = cv2.warpPerspective(face, matrix, (width, height), flags=cv2.INTER_AREA)
    alpha = cv2.warpPerspective(np.ones((fh, fw), np.float32), matrix, (width, height), flags=cv2.INTER_LINEAR)
    image = image_u8.astype(np.float32) * (1 - alpha[..., None]) + warped.astype(np.float32) * alpha[..., None]
    conditions: dict[str, object] = {
        "font": font.name if font else "default",
        "roll_deg": round(float(np.rad2deg(roll)), 1),
    }
    if effects and rng.random() < 0.25:  # night: dark and blue, the plate lit by its lamp and reflecting
        gain = float(rng.uniform(0.15, 0.35))
        lit = np.clip(alpha * rng.uniform(1.6, 2.6), 0, 1)[..., None]
        image = image * (gain * (1 - lit) + gain * 2.2 * lit) * np.array([0.85, 0.9, 1.15], np.float32)
        conditions["night"] = True
    if effects and rng.random() < 0.35:
        length = float(rng.uniform(2, 6))
        image = motion_blur(image, length, float(rng.uniform(-15, 15)))
        conditions["motion_blur_px"] = round(length, 1)
    image = gaussian_noise(np.clip(image, 0, 255), rng, float(rng.uniform(2, 9)))
    image = np.clip(image, 0, 255).astype(np.uint8)
    if effects and rng.random() < 0.6:
        image = jpeg(image, int(rng.integers(45, 90)))
    box = (float(quad[:, 0].min()), float(quad[:, 1].min()), float(quad[:, 0].max()), float(quad[:, 1].max()))
    plate = "".join(ch for ch in display.upper() if ch.isascii() and ch.isalnum())
    lx0, ly0, lx1, ly1 = line
    corners = np.array([[[lx0, ly0], [lx1, ly0], [lx1, ly1], [lx0, ly1]]], np.float32)
    text_quad = cv2.perspectiveTransform(corners, matrix)[0]
    truth = PlateTruth(plate, display, format_key, region, quad, box, text_quad)
    return PlateScene(image, (truth,), conditions)
