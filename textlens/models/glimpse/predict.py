"""Using trained glimpse models: ``load_glimpse_model(name_or_path)`` gives a torch-based
``predict(images) -> labels`` function, and ``trajectory`` gives the glimpse path for drawing.

Input images may be RGB or gray, any size: they are turned to gray, inverted when dark-on-light (the models
were trained on light digits on black, like MNIST), then scaled to fit the model's canvas and padded with
black. This uses torch (glimpse models have no ONNX runtime path).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from textlens.data.digits import fit_canvas
from textlens.errors import InputError, ModelError
from textlens.models.bundle import read_bundle
from textlens.models.glimpse.sensor import patch_boxes
from textlens.models.registry import create_model
from textlens.models.serialization import load_weights


@dataclass
class GlimpseModel:
    """A loaded glimpse model with its config (from ``config.json``)."""

    model: Any
    config: dict[str, Any]

    @property
    def height(self) -> int:
        return int(self.model.image_size[0])

    @property
    def width(self) -> int:
        return int(self.model.image_size[1])

    def prepare(self, images: Sequence[np.ndarray]) -> torch.Tensor:
        """Images → B×1×H×W float tensor in [0, 1] on the model's canvas."""
        return (
            torch.from_numpy(np.stack([to_canvas(im, self.height, self.width) for im in images]))
            .unsqueeze(1)
            .float()
            .div_(255.0)
        )

    @torch.no_grad()
    def predict(self, images: Sequence[np.ndarray], samples: int = 1) -> list[str]:
        if not images:
            return []
        return predict_texts(self.model, self.prepare(images), samples)


def predict_texts(model: Any, images: torch.Tensor, samples: int = 1) -> list[str]:
    """Labels of a batch: RAM's class, or DRAM's digits up to the end token (``samples`` > 1: Monte-Carlo)."""
    was_training = model.training
    model.eval()
    try:
        probs = model.predict_proba(images, samples=samples)
    finally:
        model.train(was_training)
    if probs.ndim == 2:
        return [str(int(i)) for i in probs.argmax(-1)]
    return ["".join(str(d) for d in row) for row in model.decode(probs)]


def to_canvas(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Gray, light-on-dark, fitted into ``height``×``width`` (uint8)."""
    if image.ndim == 3:
        image = cv2.cvtColor(image[:, :, :3], cv2.COLOR_RGB2GRAY) if image.shape[2] >= 3 else image[:, :, 0]
    if image.ndim != 2 or image.size == 0:
        raise InputError(f"expected a gray or RGB image, got an array of shape {image.shape}")
    image = np.asarray(image, dtype=np.uint8)
    # Border pixels tell the background: a light border means dark ink, which the models never saw.
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    if float(border.mean()) > 127:
        image = 255 - image
    if image.shape == (height, width):
        return image
    return fit_canvas(image, height, width)


def resolve_weights(name_or_path: str | Path) -> tuple[dict[str, Any], Path]:
    """(config, weights file) of a bundled name, an export folder, or a folder's ``model.safetensors``."""
    path = Path(name_or_path)
    given_file = path.suffix == ".safetensors" and path.is_file()
    bundle = read_bundle(path.parent if given_file else name_or_path)
    if bundle.family != "glimpse":
        raise ModelError(f"not a glimpse model (family {bundle.family!r})", bundle.folder)
    if not bundle.arch:
        raise ModelError("config.json has no 'arch' (the registered model name)", bundle.folder)
    weights = path if given_file else bundle.safetensors
    if not weights.is_file():
        raise ModelError("config.json has no model.safetensors beside it", bundle.folder)
    return bundle.config, weights


def load_glimpse(name_or_path: str | Path, device: str = "cpu") -> GlimpseModel:
    """Build and load a glimpse model (bundled name like ``ram_mnist``, or an export folder)."""
    config, weights = resolve_weights(name_or_path)
    model = create_model(config["arch"], **config.get("model", {}))
    load_weights(model, weights)
    return GlimpseModel(model.to(device).eval(), config)


def load_glimpse_model(
    name_or_path: str | Path, samples: int = 1, device: str = "cpu"
) -> Callable[[list[np.ndarray]], list[str]]:
    """``predict(images) -> labels`` for ``textlens eval digits``; ``samples`` > 1 averages sampled paths."""
    loaded = load_glimpse(name_or_path, device)

    def predict(images: list[np.ndarray]) -> list[str]:
        return loaded.predict(images, samples)

    return predict


@dataclass(frozen=True)
class Trajectory:
    """Where a model looked on one image (canvas pixels) and what it answered."""

    canvas: np.ndarray  # the gray image the model saw
    locations: list[tuple[float, float]]  # normalised (x, y) per glimpse
    boxes: list[list[tuple[float, float, float, float]]]  # per glimpse, the patch box of each scale
    label: str


@torch.no_grad()
def trajectory(loaded: GlimpseModel, image: np.ndarray) -> Trajectory:
    """Run the deterministic (mean) policy on one image and return its glimpse path."""
    model = loaded.model
    batch = loaded.prepare([image])
    out = model(batch, stochastic=False)
    label = predict_texts(model, batch)[0]
    canvas = (batch[0, 0].numpy() * 255).round().astype(np.uint8)
    sensor = model.sensor
    locs = [(float(x), float(y)) for x, y in out["locations"][0].tolist()]
    boxes = [patch_boxes(loc, loaded.height, loaded.width, sensor.size, sensor.scales, sensor.ratio) for loc in locs]
    return Trajectory(canvas, locs, boxes, label)
