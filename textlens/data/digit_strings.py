"""Handwritten digit strings composed from single handwritten digits (MNIST): amounts, dates, phone numbers and
codes, as a recogniser's training crops.

Each digit is cut to its ink, scaled to the string's digit height (with a little per-digit variation), given the
string's pen width (thinned or thickened), set on a slightly wandering baseline with its own spacing (negative
gaps make touching digits), and the whole string is slanted. Separators (``/ - . ,``) are drawn as pen strokes of
the same width; a space is a wider gap. The result is dark ink on light paper, as a scan shows it.

Everything is deterministic for a ``numpy`` generator, and a :class:`DigitBank` built from one split of digits
(the MNIST training digits for training, the validation or test digits for a held-out set) keeps the writers apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from textlens.errors import ConfigError

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)
SEPARATORS = "/-.,"
CHARSET = "0123456789" + SEPARATORS + " "
KINDS = ("amount", "date", "phone", "code")
INK_THRESHOLD = 40  # MNIST pixel level counted as ink when cutting a digit to its strokes


@dataclass(frozen=True)
class DigitBank:
    """Single handwritten digits (light ink on black, uint8), grouped by their digit."""

    by_digit: dict[str, list[np.ndarray]]

    @classmethod
    def from_arrays(cls, images: np.ndarray, labels: np.ndarray) -> DigitBank:
        by_digit: dict[str, list[np.ndarray]] = {str(d): [] for d in range(10)}
        for image, label in zip(images, labels, strict=True):
            by_digit[str(int(label))].append(np.asarray(image, np.uint8))
        missing = [d for d, found in by_digit.items() if not found]
        if missing:
            raise ConfigError(f"the digit images hold no {', '.join(missing)}: every digit 0-9 is needed")
        return cls(by_digit)

    def pick(self, digit: str, rng: np.random.Generator) -> np.ndarray:
        choices = self.by_digit[digit]
        return choices[int(rng.integers(len(choices)))]


@dataclass(frozen=True)
class StringStyle:
    """How one string is written: sizes in pixels of the output image."""

    digit_height: int = 28
    slant: float = 0.0  # horizontal shear (x += slant * (baseline - y)), > 0 leans right
    pen: int = 0  # -1 thinner, 0 as written, 1 or 2 thicker
    gap: float = 2.0  # mean space between glyphs; below 0 they touch or overlap
    gap_jitter: float = 1.5
    baseline_wobble: float = 1.5
    size_jitter: float = 0.08
    margin: int = 4
    ink: int = 30  # ink gray level on paper
    paper: int = 238


@dataclass
class DigitString:
    """A composed string: the image (H×W×3 uint8, dark on light), its text and a box per drawn glyph."""

    image: np.ndarray
    text: str
    boxes: list[Box] = field(default_factory=list)  # one per non-space character, in reading order


# ---------------------------------------------------------------------------------------------- texts


def _digits(rng: np.random.Generator, count: int) -> str:
    return "".join(str(int(d)) for d in rng.integers(0, 10, count))


def amount_text(rng: np.random.Generator) -> str:
    whole = str(int(rng.integers(0, 10 ** int(rng.integers(1, 7)))))
    if len(whole) > 3 and rng.random() < 0.6:  # thousands separators
        head = len(whole) % 3 or 3
        groups = [whole[:head]] + [whole[i : i + 3] for i in range(head, len(whole), 3)]
        whole = ",".join(groups)
    if rng.random() < 0.7:
        return f"{whole}.{_digits(rng, 2)}"
    return whole


def date_text(rng: np.random.Generator) -> str:
    day, month = int(rng.integers(1, 32)), int(rng.integers(1, 13))
    year = int(rng.integers(1950, 2040))
    sep = str(rng.choice(list("/-.")))
    day_s = f"{day:02d}" if rng.random() < 0.7 else str(day)
    month_s = f"{month:02d}" if rng.random() < 0.7 else str(month)
    year_s = str(year) if rng.random() < 0.6 else f"{year % 100:02d}"
    return sep.join([day_s, month_s, year_s] if rng.random() < 0.7 else [month_s, day_s, year_s])


def phone_text(rng: np.random.Generator) -> str:
    layout = int(rng.integers(3))
    if layout == 0:
        return f"{_digits(rng, 3)}-{_digits(rng, 3)}-{_digits(rng, 4)}"
    if layout == 1:
        return f"{_digits(rng, 3)} {_digits(rng, 4)}"
    return f"{_digits(rng, 2)} {_digits(rng, 2)} {_digits(rng, 2)} {_digits(rng, 2)}"


def code_text(rng: np.random.Generator) -> str:
    if rng.random() < 0.5:
        return _digits(rng, int(rng.integers(1, 9)))
    return f"{_digits(rng, int(rng.integers(2, 6)))}-{_digits(rng, int(rng.integers(2, 6)))}"


TEXT_MAKERS: dict[str, Callable[[np.random.Generator], str]] = {
    "amount": amount_text,
    "date": date_text,
    "phone": phone_text,
    "code": code_text,
}


def random_text(rng: np.random.Generator, kinds: tuple[str, ...] = KINDS) -> str:
    unknown = [k for k in kinds if k not in TEXT_MAKERS]
    if unknown or not kinds:
        raise ConfigError(f"unknown digit-string kinds {unknown}; choose from {', '.join(KINDS)}")
    return TEXT_MAKERS[kinds[int(rng.integers(len(kinds)))]](rng)


def random_style(rng: np.random.Generator) -> StringStyle:
    return StringStyle(
        digit_height=int(rng.integers(22, 36)),
        slant=float(rng.normal(0.12, 0.15)),
        pen=int(rng.choice([-1, 0, 0, 1, 1, 2])),
        gap=float(rng.uniform(-1.5, 5.0)),
        gap_jitter=float(rng.uniform(0.5, 2.0)),
        baseline_wobble=float(rng.uniform(0.0, 2.5)),
        size_jitter=float(rng.uniform(0.0, 0.12)),
        margin=int(rng.integers(2, 9)),
        ink=int(rng.integers(0, 90)),
        paper=int(rng.integers(200, 256)),
    )


# ---------------------------------------------------------------------------------------------- drawing


def ink_crop(digit: np.ndarray) -> np.ndarray:
    """The digit cut to the rows and columns holding ink."""
    rows, cols = np.nonzero(digit > INK_THRESHOLD)
    if rows.size == 0:
        return digit
    return digit[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]


def _pen(glyph: np.ndarray, pen: int) -> np.ndarray:
    if pen == 0:
        return glyph
    kernel = np.ones((2, 2) if abs(pen) == 1 else (3, 3), np.uint8)
    return cv2.dilate(glyph, kernel) if pen > 0 else cv2.erode(glyph, kernel)


def _stroke_width(height: int, pen: int) -> int:
    """A separator's line width that matches the digits': MNIST strokes are about a tenth of the digit height."""
    return max(1, round(height * 0.1) + pen)


def _separator(char: str, height: int, pen: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """A separator drawn as a pen stroke: its image (light on dark) and its top offset from the digits' top."""
    width = _stroke_width(height, pen)
    pad = width + 1
    if char == "/":
        w = max(4, int(height * rng.uniform(0.35, 0.55)))
        image = np.zeros((height + 2 * pad, w + 2 * pad), np.uint8)
        cv2.line(image, (pad, height + pad - 1), (w + pad - 1, pad), 255, width, cv2.LINE_AA)
        return image, -pad
    if char == "-":
        w = max(4, int(height * rng.uniform(0.3, 0.5)))
        image = np.zeros((2 * pad + 3, w + 2 * pad), np.uint8)
        tilt = int(rng.integers(-1, 2))
        cv2.line(image, (pad, pad + 1 + tilt), (w + pad - 1, pad + 1 - tilt), 255, width, cv2.LINE_AA)
        return image, height // 2 - pad - 1
    radius = max(1, round(width * 0.7))
    if char == ".":
        image = np.zeros((2 * radius + 3, 2 * radius + 3), np.uint8)
        cv2.circle(image, (radius + 1, radius + 1), radius, 255, -1, cv2.LINE_AA)
        return image, height - 2 * radius - 2
    if char == ",":
        tail = max(3, height // 5)
        image = np.zeros((2 * radius + tail + 3, 2 * radius + 4), np.uint8)
        cv2.circle(image, (radius + 2, radius + 1), radius, 255, -1, cv2.LINE_AA)
        cv2.line(image, (radius + 2, radius + 1), (1, 2 * radius + tail), 255, max(1, width - 1), cv2.LINE_AA)
        return image, height - 2 * radius - 2
    raise ConfigError(f"no separator stroke for {char!r}; separators are {SEPARATORS!r}")


def compose(text: str, bank: DigitBank, rng: np.random.Generator, style: StringStyle | None = None) -> DigitString:
    """Draw ``text`` (digits, ``/ - . ,`` and spaces) with handwritten digits from ``bank``."""
    bad = sorted({c for c in text if c not in CHARSET})
    if bad or not text.strip():
        raise ConfigError(f"a digit string holds digits, {SEPARATORS!r} and spaces only, got {text!r}")
    style = style or random_style(rng)
    height = style.digit_height
    wobble = style.baseline_wobble
    glyphs: list[tuple[np.ndarray, int, int]] = []  # image, x, y (top) on an unslanted strip
    x = 0.0
    for char in text:
        if char == " ":
            x += height * rng.uniform(0.35, 0.6)
            continue
        if char.isdigit():
            crop = ink_crop(bank.pick(char, rng))
            digit_h = max(6, round(height * (1 + rng.uniform(-style.size_jitter, style.size_jitter))))
            digit_w = max(2, round(crop.shape[1] * digit_h / crop.shape[0]))
            glyph = _pen(cv2.resize(crop, (digit_w, digit_h), interpolation=cv2.INTER_LINEAR), style.pen)
            top = round(height - digit_h + rng.normal(0, wobble))
        else:
            glyph, offset = _separator(char, height, style.pen, rng)
            top = round(offset + rng.normal(0, wobble / 2))
        # Touching, not swallowed: a glyph overlaps its neighbour by at most a seventh of the digit height.
        gap = max(-height / 7, rng.normal(style.gap, style.gap_jitter))
        if glyphs:
            x += gap
        glyphs.append((glyph, round(x), top))
        x += glyph.shape[1]
    # Canvas: room for the slant (which moves rows above the baseline sideways) and the margins.
    top_min = min(t for _, _, t in glyphs)
    bottom_max = max(t + g.shape[0] for g, _, t in glyphs)
    left_min = min(x0 for _, x0, _ in glyphs)
    right_max = max(x0 + g.shape[1] for g, x0, _ in glyphs)
    strip_h = bottom_max - top_min
    lean = int(np.ceil(abs(style.slant) * strip_h))
    margin = style.margin
    canvas_h = strip_h + 2 * margin
    canvas_w = right_max - left_min + lean + 2 * margin
    strip = np.zeros((canvas_h, canvas_w), np.uint8)
    placed: list[Box] = []
    for glyph, x0, top in glyphs:
        gx, gy = x0 - left_min + margin + (lean if style.slant < 0 else 0), top - top_min + margin
        region = strip[gy : gy + glyph.shape[0], gx : gx + glyph.shape[1]]
        np.maximum(region, glyph[: region.shape[0], : region.shape[1]], out=region)
        placed.append((gx, gy, gx + glyph.shape[1], gy + glyph.shape[0]))
    # Slant about the bottom row: x' = x + slant * (bottom - y), the same map for the boxes.
    bottom = canvas_h - margin
    shear = np.float32([[1, -style.slant, style.slant * bottom], [0, 1, 0]])
    slanted = cv2.warpAffine(strip, shear, (canvas_w, canvas_h), flags=cv2.INTER_LINEAR, borderValue=0)
    boxes = [_sheared_box(box, style.slant, bottom, float(shear[0, 2]), canvas_w, canvas_h) for box in placed]
    paper = np.full(slanted.shape, style.paper, np.float32)
    alpha = slanted.astype(np.float32) / 255.0
    gray = paper * (1 - alpha) + style.ink * alpha
    gray += rng.normal(0, 3.0, gray.shape)  # scanner noise
    image = np.clip(gray, 0, 255).astype(np.uint8)
    return DigitString(cv2.cvtColor(image, cv2.COLOR_GRAY2RGB), text, boxes)


def _sheared_box(box: Box, slant: float, bottom: int, shift: float, width: int, height: int) -> Box:
    x0, y0, x1, y1 = box
    xs = [x + slant * (bottom - y) + shift for x in (x0, x1) for y in (y0, y1)]
    return (
        int(np.clip(np.floor(min(xs)), 0, width)),
        int(np.clip(y0, 0, height)),
        int(np.clip(np.ceil(max(xs)), 0, width)),
        int(np.clip(y1, 0, height)),
    )


def random_string(
    bank: DigitBank, rng: np.random.Generator, kinds: tuple[str, ...] = KINDS, style: StringStyle | None = None
) -> DigitString:
    """A random amount, date, phone number or code, composed with a random style (unless one is given)."""
    return compose(random_text(rng, kinds), bank, rng, style)


def sample(bank: DigitBank, seed: int, index: int, kinds: tuple[str, ...] = KINDS) -> DigitString:
    """Sample ``index`` of the stream of ``seed``: regenerated alone, the same every time."""
    return random_string(bank, np.random.default_rng((seed, index)), kinds)
