"""Single-digit classification with a ``digits`` bundle (``digits_cnn``, ``digits_deva``) on onnxruntime.

Torch-free: the bundle's ``model.onnx`` runs through :mod:`textlens.runtime.session`. Every image, of any size,
is brought to the canvas the model learnt (:func:`prepare_digit`): gray, light ink on black, and, unless it is
already 28×28, cropped to its ink, scaled so the longer side is 20 px and centred by its centre of mass in a
28×28 canvas (MNIST's own normalisation), so that training on other sources and inference agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from textlens.errors import InputError, ModelError
from textlens.models.bundle import Bundle, read_bundle

CANVAS = 28
DIGIT_BOX = 20  # MNIST fits each digit's longer side into 20 px, then centres its mass in 28×28
INPUT_NAME = "images"
OUTPUT_NAME = "logits"
# A pixel is ink when it is brighter than this fraction of the brightest one (after background removal).
INK_FRACTION = 0.25


def to_gray(image: np.ndarray) -> np.ndarray:
    """``image`` (H×W, H×W×1, H×W×3 or H×W×4, uint8 or float) as an H×W float32 array in 0..255."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 3 and array.shape[2] in (3, 4):
        array = cv2.cvtColor(np.ascontiguousarray(array[:, :, :3]).astype(np.uint8), cv2.COLOR_RGB2GRAY)
    if array.ndim != 2 or array.size == 0:
        raise InputError(f"a digit image must be gray or RGB with pixels, got shape {np.shape(image)}")
    return array.astype(np.float32)


def _border(gray: np.ndarray) -> np.ndarray:
    return np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])


def light_on_dark(gray: np.ndarray) -> np.ndarray:
    """Ink bright on a black background: inverted when the border is light, the background level removed and
    the brightest ink stretched to 255."""
    if float(np.median(_border(gray))) > 127:
        gray = 255.0 - gray
    background = float(np.median(_border(gray)))
    ink = np.clip(gray - background, 0, None)
    peak = float(ink.max())
    return ink * (255.0 / peak) if peak > 0 else ink


def prepare_digit(image: np.ndarray) -> np.ndarray:
    """One image → the 28×28 float32 canvas (0..1, light on dark) the digit models read."""
    gray = light_on_dark(to_gray(image))
    if gray.shape == (CANVAS, CANVAS):
        return (gray / 255.0).astype(np.float32)
    canvas = np.zeros((CANVAS, CANVAS), np.float32)
    rows, cols = np.nonzero(gray > INK_FRACTION * 255.0)
    if rows.size == 0:
        return canvas
    crop = gray[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    scale = DIGIT_BOX / max(crop.shape)
    height, width = (max(1, round(side * scale)) for side in crop.shape)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(crop, (width, height), interpolation=interpolation)
    mass = small.sum()
    ys, xs = np.indices(small.shape)
    centre_y = float((ys * small).sum() / mass) if mass > 0 else height / 2
    centre_x = float((xs * small).sum() / mass) if mass > 0 else width / 2
    top = int(np.clip(round(CANVAS / 2 - centre_y), 0, CANVAS - height))
    left = int(np.clip(round(CANVAS / 2 - centre_x), 0, CANVAS - width))
    canvas[top : top + height, left : left + width] = small
    return np.clip(canvas / 255.0, 0.0, 1.0).astype(np.float32)


def prepare_batch(images: Sequence[np.ndarray]) -> np.ndarray:
    """Images → an (N, 1, 28, 28) float32 batch."""
    return np.stack([prepare_digit(image) for image in images])[:, None].astype(np.float32)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


class DigitClassifier:
    """A ``digits`` bundle on onnxruntime: ``classifier(images) -> labels``; ``probabilities`` for the scores."""

    def __init__(self, bundle: Bundle, threads: int | None = None) -> None:
        from textlens.runtime.session import get_session

        if bundle.family != "digits":
            raise ModelError(f"{bundle.name!r} is a {bundle.family} model, not a digit classifier", bundle.folder)
        labels = bundle.config.get("labels")
        if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
            raise ModelError("config.json needs 'labels': the class names, as a list of strings", bundle.folder)
        self.bundle = bundle
        self.labels: list[str] = labels
        self.session = get_session(bundle.onnx, threads=threads)

    @property
    def name(self) -> str:
        return self.bundle.name

    def probabilities(self, images: Sequence[np.ndarray], batch: int = 256) -> np.ndarray:
        """(N, classes) class probabilities of ``images`` (any size; see :func:`prepare_digit`)."""
        if not images:
            return np.zeros((0, len(self.labels)), np.float32)
        out = []
        for start in range(0, len(images), batch):
            inputs = prepare_batch(images[start : start + batch])
            logits = self.session.run([OUTPUT_NAME], {INPUT_NAME: inputs})[0]
            if logits.shape != (len(inputs), len(self.labels)):
                raise ModelError(
                    f"the model gives scores of shape {logits.shape} for {len(inputs)} images and "
                    f"{len(self.labels)} labels",
                    self.bundle.onnx,
                )
            out.append(softmax(logits.astype(np.float32)))
        return np.concatenate(out)

    def __call__(self, images: Sequence[np.ndarray]) -> list[str]:
        return [self.labels[int(i)] for i in self.probabilities(images).argmax(axis=1)]


def load_digit_classifier(name_or_folder: str | Path, threads: int | None = None) -> DigitClassifier:
    """A bundled digit classifier by name (``digits_cnn``) or a bundle/export folder."""
    return DigitClassifier(read_bundle(name_or_folder), threads=threads)


def card_metrics(bundle: Bundle) -> dict[str, Any]:
    """The measured numbers a bundle's config.json records (``metrics``), for reports and checks."""
    metrics = bundle.config.get("metrics", {})
    if not isinstance(metrics, dict):
        raise ModelError("config.json 'metrics' must be an object", bundle.folder)
    return metrics
