"""Digit tasks for the glimpse models, generated on the fly from MNIST (or read from SVHN), deterministic
for a seed: plain 28×28 MNIST, translated MNIST (60×60), cluttered MNIST (60×60 with 4 and 100×100 with 8
random 8×8 fragments of other digits, as in Mnih et al. 2014) and strings of 1–5 MNIST digits side by side
with jitter and scale changes (a stand-in for SVHN, as in Ba et al. 2015).

Sample ``i`` of a task is drawn from ``np.random.default_rng((seed, i))``, so any sample can be regenerated
alone and a data loader's workers need no shared state. The MNIST training file is split deterministically:
the last ``val_size`` (5,000) images are the validation split, and validation samples use only those digits.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from textlens.data.readers.mnist import MnistReader
from textlens.errors import AnnotationError, ConfigError

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive) in canvas pixels

SINGLE_TASKS = ("mnist", "translated", "cluttered60", "cluttered100")
SEQUENCE_TASKS = ("multidigit", "svhn")
TASKS = SINGLE_TASKS + SEQUENCE_TASKS
# The environment variable naming a folder of datasets: MNIST is looked for in its mnist/ when no folder is given.
DATA_ENV = "TEXTLENS_DATA"


@dataclass(frozen=True)
class TaskSpec:
    """The canvas a task draws on and what it labels."""

    name: str
    height: int
    width: int
    clutter: int = 0  # number of 8×8 fragments
    max_length: int = 1  # digits per label (sequence tasks)

    @property
    def sequence(self) -> bool:
        return self.name in SEQUENCE_TASKS


TASK_SPECS: dict[str, TaskSpec] = {
    "mnist": TaskSpec("mnist", 28, 28),
    "translated": TaskSpec("translated", 60, 60),
    "cluttered60": TaskSpec("cluttered60", 60, 60, clutter=4),
    "cluttered100": TaskSpec("cluttered100", 100, 100, clutter=8),
    "multidigit": TaskSpec("multidigit", 64, 160, max_length=5),
    "svhn": TaskSpec("svhn", 64, 160, max_length=5),
}


def task_spec(name: str) -> TaskSpec:
    if name not in TASK_SPECS:
        raise ConfigError(f"unknown digit task {name!r}; choose one of {', '.join(TASKS)}")
    return TASK_SPECS[name]


@dataclass(frozen=True)
class MnistSplits:
    """MNIST training images split into train (all but the last ``val_size``) and validation (the last)."""

    train_images: np.ndarray
    train_labels: np.ndarray
    val_images: np.ndarray
    val_labels: np.ndarray

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        if name not in ("train", "val"):
            raise ConfigError(f"split must be 'train' or 'val', got {name!r}")
        return (self.train_images, self.train_labels) if name == "train" else (self.val_images, self.val_labels)


def default_mnist() -> Path:
    """The MNIST folder used when none is given: ``$TEXTLENS_DATA/mnist``; a ConfigError saying what to pass
    when the variable is unset or names no such folder."""
    root = os.environ.get(DATA_ENV)
    if not root:
        raise ConfigError(
            f"no MNIST folder given: pass --data DIR (the folder of the MNIST training IDX files) or set {DATA_ENV} "
            "to a folder that holds mnist/"
        )
    path = Path(root) / "mnist"
    if not path.is_dir():
        raise ConfigError(f"no MNIST folder at {path} ({DATA_ENV}={root}): pass --data DIR or fix {DATA_ENV}")
    return path


def load_mnist_splits(path: str | Path, val_size: int = 5000) -> MnistSplits:
    """Read the MNIST training IDX files in ``path`` (or the images file itself) and split them."""
    images, labels = MnistReader(path, split="train").arrays()
    if not 0 < val_size < len(labels):
        raise AnnotationError(f"cannot keep {val_size} of {len(labels)} images for validation", path)
    cut = len(labels) - val_size
    return MnistSplits(images[:cut], labels[:cut], images[cut:], labels[cut:])


def _paste_max(canvas: np.ndarray, patch: np.ndarray, x: int, y: int) -> Box:
    """Max-composite ``patch`` at (x, y), both fully inside the canvas; returns the patch box."""
    h, w = patch.shape
    np.maximum(canvas[y : y + h, x : x + w], patch, out=canvas[y : y + h, x : x + w])
    return (x, y, x + w, y + h)


def place_digit(digit: np.ndarray, size: int, rng: np.random.Generator) -> tuple[np.ndarray, Box]:
    """A ``size``×``size`` canvas with the digit at a uniformly random position, fully inside."""
    canvas = np.zeros((size, size), np.uint8)
    h, w = digit.shape
    box = _paste_max(canvas, digit, int(rng.integers(0, size - w + 1)), int(rng.integers(0, size - h + 1)))
    return canvas, box


def add_clutter(
    canvas: np.ndarray, sources: Sequence[np.ndarray], rng: np.random.Generator, fragment: int = 8
) -> list[Box]:
    """Paste one random ``fragment``×``fragment`` piece of each source digit at a random place (in place)."""
    boxes = []
    height, width = canvas.shape
    for source in sources:
        # Crops from the digit's central area, where the ink is (MNIST digits sit in a 20×20 box).
        sy, sx = (int(rng.integers(2, source.shape[i] - fragment - 1)) for i in (0, 1))
        piece = source[sy : sy + fragment, sx : sx + fragment]
        x, y = int(rng.integers(0, width - fragment + 1)), int(rng.integers(0, height - fragment + 1))
        boxes.append(_paste_max(canvas, piece, x, y))
    return boxes


def shift(image: np.ndarray, rng: np.random.Generator, limit: int) -> np.ndarray:
    """The image moved by a random (dx, dy) in [-limit, limit]², same size, black where it moved away."""
    dx, dy = (int(v) for v in rng.integers(-limit, limit + 1, size=2))
    h, w = image.shape
    out = np.zeros_like(image)
    out[max(0, dy) : h + min(0, dy), max(0, dx) : w + min(0, dx)] = image[
        max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)
    ]
    return out


def _ink_columns(digit: np.ndarray, threshold: int = 20) -> np.ndarray:
    """The digit cropped to its inked columns (all rows kept so baselines stay aligned)."""
    cols = np.flatnonzero(digit.max(axis=0) > threshold)
    return digit if cols.size == 0 else digit[:, cols[0] : cols[-1] + 1]


def compose_string(
    digits: Sequence[np.ndarray], rng: np.random.Generator, height: int = 64, width: int = 160
) -> tuple[np.ndarray, list[Box]]:
    """Digits side by side on a ``height``×``width`` canvas with a random scale, gaps and vertical jitter."""
    crops = [_ink_columns(d) for d in digits]
    scale = float(rng.uniform(0.85, 1.45))
    scales = [scale * float(rng.uniform(0.92, 1.08)) for _ in crops]
    gaps = [int(rng.integers(-1, 5)) for _ in crops[1:]]
    widths = [c.shape[1] * s for c, s in zip(crops, scales, strict=True)]
    # Shrink the whole string when it would not fit (long strings at a large scale).
    fit = min(
        1.0,
        (width - 4 - sum(gaps)) / sum(widths),
        (height - 4) / (max(c.shape[0] * s for c, s in zip(crops, scales, strict=True))),
    )
    resized = [
        cv2.resize(
            c,
            (max(1, round(c.shape[1] * s * fit)), max(1, round(c.shape[0] * s * fit))),
            interpolation=cv2.INTER_AREA if s * fit < 1 else cv2.INTER_LINEAR,
        )
        for c, s in zip(crops, scales, strict=True)
    ]
    total = sum(r.shape[1] for r in resized) + sum(gaps)
    canvas = np.zeros((height, width), np.uint8)
    x = int(rng.integers(0, max(0, width - total) + 1))
    boxes = []
    for index, digit in enumerate(resized):
        h, w = digit.shape
        centre = (height - h) // 2
        y = int(np.clip(centre + rng.integers(-6, 7), 0, height - h))
        x = int(np.clip(x, 0, width - w))
        boxes.append(_paste_max(canvas, digit, x, y))
        x += w + (gaps[index] if index < len(gaps) else 0)
    return canvas, boxes


class DigitTask:
    """A deterministic stream of (gray uint8 image, label) samples of one task from one MNIST split.

    ``fixed=True`` (validation) makes sample ``i`` use digit ``i`` of the split (single-digit tasks) and the
    task has ``len(split)`` samples; otherwise every sample picks its digits at random and ``length``
    only bounds the index range a loader walks.
    """

    def __init__(
        self,
        task: str,
        images: np.ndarray,
        labels: np.ndarray,
        seed: int = 0,
        fixed: bool = False,
        length: int | None = None,
        jitter: int = 0,
    ) -> None:
        self.spec = task_spec(task)
        self.jitter = jitter  # plain MNIST training: shift each digit by up to ±jitter pixels
        if self.spec.name == "svhn":
            raise ConfigError("the svhn task reads SVHN files: use SvhnTask")
        if len(images) == 0 or len(images) != len(labels):
            raise ConfigError(f"need as many MNIST images as labels (got {len(images)} and {len(labels)})")
        self.images, self.labels, self.seed, self.fixed = images, labels, seed, fixed
        self.length = length if length is not None else len(labels)

    def __len__(self) -> int:
        return self.length

    def _rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng((self.seed, index))

    def _pick(self, rng: np.random.Generator, index: int) -> int:
        return index % len(self.labels) if self.fixed else int(rng.integers(len(self.labels)))

    def string_sample(self, index: int) -> tuple[np.ndarray, str, list[Box]]:
        """A multidigit sample with each digit's box on the canvas (what ``sample`` gives, plus the boxes)."""
        if self.spec.name != "multidigit":
            raise ConfigError(f"digit boxes exist for the multidigit task only, not {self.spec.name!r}")
        rng = self._rng(index)
        count = int(rng.integers(1, self.spec.max_length + 1))
        chosen = rng.integers(len(self.labels), size=count)
        image, boxes = compose_string([self.images[i] for i in chosen], rng, self.spec.height, self.spec.width)
        return image, "".join(str(int(self.labels[i])) for i in chosen), boxes

    def sample(self, index: int) -> tuple[np.ndarray, str]:
        spec = self.spec
        if spec.name == "multidigit":
            image, text, _ = self.string_sample(index)
            return image, text
        rng = self._rng(index)
        pick = self._pick(rng, index)
        digit, label = self.images[pick], str(int(self.labels[pick]))
        if spec.name == "mnist":
            return (shift(digit, rng, self.jitter) if self.jitter and not self.fixed else digit), label
        if spec.clutter:
            canvas = np.zeros((spec.height, spec.width), np.uint8)
            others = (rng.integers(len(self.labels), size=spec.clutter) + pick + 1) % len(self.labels)
            add_clutter(canvas, [self.images[i] for i in others], rng)
            h, w = digit.shape
            _paste_max(
                canvas,
                digit,
                int(rng.integers(0, spec.width - w + 1)),
                int(rng.integers(0, spec.height - h + 1)),
            )
            return canvas, label
        return place_digit(digit, spec.height, rng)[0], label

    def batch(self, indices: Sequence[int]) -> tuple[np.ndarray, list[str]]:
        """Samples stacked as B×H×W uint8 with their labels."""
        pairs = [self.sample(int(i)) for i in indices]
        return np.stack([p[0] for p in pairs]), [p[1] for p in pairs]


def fit_canvas(gray: np.ndarray, height: int, width: int, offset: float = 0.5) -> np.ndarray:
    """Scale a gray image to ``height`` (less if too wide) and pad it into a ``height``×``width`` canvas.

    ``offset`` in [0, 1] places it horizontally (0.5 centres it); padding is black.
    """
    h, w = gray.shape
    scale = min(height / h, width / w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    resized = cv2.resize(gray, (new_w, new_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    canvas = np.zeros((height, width), np.uint8)
    x, y = round((width - new_w) * offset), (height - new_h) // 2
    canvas[y : y + new_h, x : x + new_w] = resized
    return canvas


class SvhnTask:
    """SVHN format 1 as a digit-string task: each number's box grown by 30% (as Ba et al.), gray, fitted
    into the task canvas. The last 5% of ``digitStruct.mat`` entries are the validation split; numbers of
    more than ``max_length`` digits are skipped (the paper drops them too)."""

    def __init__(
        self,
        path: str | Path,
        split: str = "train",
        seed: int = 0,
        fixed: bool = False,
        val_fraction: float = 0.05,
    ) -> None:
        from textlens.data.readers.svhn import SvhnFullReader

        self.spec = task_spec("svhn")
        entries = [e for e in SvhnFullReader(path).entries if 0 < len(e.digits) <= self.spec.max_length]
        cut = len(entries) - max(1, int(len(entries) * val_fraction))
        self.entries = entries[:cut] if split == "train" else entries[cut:]
        if not self.entries:
            raise AnnotationError(f"no usable SVHN entries in the {split} split", path)
        self.seed, self.fixed = seed, fixed

    def __len__(self) -> int:
        return len(self.entries)

    def sample(self, index: int) -> tuple[np.ndarray, str]:
        from textlens.data.manifest import read_rgb

        rng = np.random.default_rng((self.seed, index))
        entry = self.entries[index % len(self.entries) if self.fixed else int(rng.integers(len(self.entries)))]
        image = cv2.cvtColor(read_rgb(entry.image), cv2.COLOR_RGB2GRAY)
        x0 = min(b[0] for _, b in entry.digits)
        y0 = min(b[1] for _, b in entry.digits)
        x1 = max(b[2] for _, b in entry.digits)
        y1 = max(b[3] for _, b in entry.digits)
        grow_x, grow_y = 0.15 * (x1 - x0), 0.15 * (y1 - y0)
        h, w = image.shape
        crop = image[
            max(0, int(y0 - grow_y)) : min(h, int(np.ceil(y1 + grow_y))),
            max(0, int(x0 - grow_x)) : min(w, int(np.ceil(x1 + grow_x))),
        ]
        if crop.size == 0:
            crop = image
        offset = 0.5 if self.fixed else float(rng.uniform(0.0, 1.0))
        label = "".join(d for d, _ in entry.digits)
        return fit_canvas(crop, self.spec.height, self.spec.width, offset), label

    def batch(self, indices: Sequence[int]) -> tuple[np.ndarray, list[str]]:
        pairs = [self.sample(int(i)) for i in indices]
        return np.stack([p[0] for p in pairs]), [p[1] for p in pairs]


def build_task(
    task: str,
    split: str,
    data: str | Path | None = None,
    seed: int = 0,
    val_size: int = 5000,
    length: int | None = None,
    splits: MnistSplits | None = None,
    jitter: int = 0,
) -> DigitTask | SvhnTask:
    """The ``split`` ('train' or 'val') of ``task``; validation is fixed (same samples every time)."""
    spec = task_spec(task)
    fixed = split == "val"
    # Validation samples use another seed stream than training ones.
    stream = seed * 2 + (1 if fixed else 0)
    if spec.name == "svhn":
        if data is None:
            raise ConfigError("the svhn task needs --data: a folder with digitStruct.mat and its PNGs")
        return SvhnTask(data, split, stream, fixed)
    if splits is None:
        path = Path(data) if data is not None else default_mnist()
        splits = load_mnist_splits(path, val_size)
    images, labels = splits.split(split)
    return DigitTask(task, images, labels, stream, fixed, length, jitter=0 if fixed else jitter)
