"""What ``digits train`` reads: its options (``DigitsTrainConfig``), the digit splits (MNIST's IDX files, or a label
manifest split by a fixed hash of the image paths) and the batch augmentation (affine + elastic warps, pen width).
Torch without Lightning: the system and the training loop are in :mod:`textlens.train.digits`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import TensorDataset

from textlens.errors import AnnotationError, ConfigError
from textlens.models.digits_predict import prepare_digit

SOURCES = ("mnist", "manifest")


@dataclass
class DigitsTrainConfig:
    """Everything ``digits train`` takes; the CLI fills it from its options."""

    out: Path
    source: str = "mnist"
    data: str | None = None  # MNIST folder, or the manifest file
    arch: str = "digits_cnn"
    holdout: int = 5000  # mnist: the last N training images are the validation split
    holdout_percent: int = 20  # manifest: the share of images (by path hash) held out
    steps: int = 6000
    batch: int = 128
    lr: float = 3e-3
    weight_decay: float = 5e-4
    warmup: float = 0.03
    label_smoothing: float = 0.05
    rotate: float = 12.0  # degrees
    scale: float = 0.12  # ± fraction
    shear: float = 0.25  # ± radians-ish (the off-diagonal term of the affine matrix)
    shift: float = 2.5  # ± pixels
    elastic: float = 1.2  # displacement amplitude in pixels (0: none)
    thicken: float = 0.15  # share of digits drawn with a thicker pen (half-blended 3×3 dilation)
    val_every: int = 500
    max_minutes: float | None = None
    fit_schedule: bool = False
    ema: float | None = None
    weights: str = "best"  # export the best check's weights (by validation error) or the final ones
    device: str = "cpu"
    seed: int = 0
    name: str | None = None
    progress: bool = True
    model: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DigitSplits:
    """28×28 uint8 images (light on dark) and integer labels, with the class names."""

    train_images: np.ndarray
    train_labels: np.ndarray
    val_images: np.ndarray
    val_labels: np.ndarray
    labels: list[str]
    script: str
    description: str


# ---------------------------------------------------------------------------------------------- data


def held_out(relative_path: str, percent: int) -> bool:
    """Whether an image belongs to the held-out part: a fixed hash (SHA-1) of its path, not the file order."""
    digest = hashlib.sha1(relative_path.replace("\\", "/").encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 100 < percent


def load_mnist(data: str | None, holdout: int) -> DigitSplits:
    from textlens.data.digits import default_mnist, load_mnist_splits

    folder = Path(data) if data else default_mnist()
    splits = load_mnist_splits(folder, holdout)
    return DigitSplits(
        splits.train_images,
        splits.train_labels.astype(np.int64),
        splits.val_images,
        splits.val_labels.astype(np.int64),
        [str(d) for d in range(10)],
        "latin",
        f"MNIST training IDX files ({folder}): the first {len(splits.train_labels)} train, the last {holdout} "
        "are the validation split",
    )


def load_label_manifest(manifest: str | None, percent: int) -> DigitSplits:
    """A label manifest split by path hash; every image is normalised as the runtime does (``prepare_digit``)."""
    from textlens.data.manifest import read_manifest

    if not manifest:
        raise ConfigError("--source manifest needs --data MANIFEST.jsonl (a label manifest)")
    if not 0 < percent < 100:
        raise ConfigError(f"--holdout-percent must be between 1 and 99, got {percent}")
    path = Path(manifest)
    records = read_manifest(path)
    if not records or any(r.kind != "label" for r in records):
        raise AnnotationError("a digit manifest must hold label records only ({'image', 'label'})", path)
    labels = sorted({str(r.label) for r in records})
    index = {label: i for i, label in enumerate(labels)}
    parts: dict[bool, tuple[list[np.ndarray], list[int]]] = {True: ([], []), False: ([], [])}
    for record in records:
        try:
            relative = record.image.relative_to(path.parent.resolve()).as_posix()
        except ValueError:  # an image outside the manifest's folder: its name decides
            relative = record.image.name
        images, targets = parts[held_out(relative, percent)]
        images.append(np.round(prepare_digit(record.load_image()) * 255).astype(np.uint8))
        targets.append(index[str(record.label)])
    (val_images, val_targets), (train_images, train_targets) = parts[True], parts[False]
    if not val_images or not train_images:
        raise AnnotationError(f"the {percent} % hash split leaves an empty part ({len(records)} images)", path)
    chars = "".join(str(r.extra.get("char", "")) for r in records)  # the Devanagari set names each numeral
    script = "devanagari" if any("\u0900" <= c <= "\u097f" for c in chars) else "latin"
    return DigitSplits(
        np.stack(train_images),
        np.array(train_targets, np.int64),
        np.stack(val_images),
        np.array(val_targets, np.int64),
        labels,
        script,
        f"{path}: {len(records)} images; {len(val_images)} held out by SHA-1 of the relative path "
        f"(first 4 bytes mod 100 < {percent}), {len(train_images)} train",
    )


def load_splits(cfg: DigitsTrainConfig) -> DigitSplits:
    if cfg.source not in SOURCES:
        raise ConfigError(f"--source must be one of {', '.join(SOURCES)}, got {cfg.source!r}")
    return (
        load_mnist(cfg.data, cfg.holdout)
        if cfg.source == "mnist"
        else load_label_manifest(cfg.data, cfg.holdout_percent)
    )


def as_tensor_dataset(images: np.ndarray, labels: np.ndarray) -> TensorDataset:
    return TensorDataset(torch.from_numpy(np.ascontiguousarray(images))[:, None], torch.from_numpy(labels))


def collate(items: list[tuple[Tensor, Tensor]]) -> dict[str, Any]:
    """A batch as the shared callbacks read it: ``images`` (uint8), ``targets`` and ``texts`` (one per sample)."""
    images = torch.stack([image for image, _ in items])
    targets = torch.stack([target for _, target in items])
    return {"images": images, "targets": targets, "texts": [str(int(t)) for t in targets]}


# ---------------------------------------------------------------------------------------------- augmentation


def augment_batch(images: Tensor, cfg: DigitsTrainConfig, generator: torch.Generator | None = None) -> Tensor:
    """Random affine + elastic warps of a float batch (N, 1, H, W), one ``grid_sample``; some pens thickened."""
    n, _, height, width = images.shape
    device = images.device

    def uniform(*shape: int) -> Tensor:
        return torch.rand(*shape, generator=generator).to(device) * 2 - 1

    angle = uniform(n) * np.deg2rad(cfg.rotate)
    scale = 1 + uniform(n) * cfg.scale
    shear = uniform(n) * cfg.shear
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.zeros(n, 2, 3, device=device)
    theta[:, 0, 0], theta[:, 0, 1] = cos, -sin + shear * cos
    theta[:, 1, 0], theta[:, 1, 1] = sin, cos
    theta[:, 0, 2] = uniform(n) * cfg.shift * 2 / width
    theta[:, 1, 2] = uniform(n) * cfg.shift * 2 / height
    grid = F.affine_grid(theta, [n, 1, height, width], align_corners=False)
    if cfg.elastic > 0:
        # A coarse random field smoothed by bilinear upsampling: local, smooth bends of the strokes.
        coarse = uniform(n, 2, 4, 4) * (cfg.elastic * 2 / width)
        field_ = F.interpolate(coarse, size=(height, width), mode="bicubic", align_corners=False)
        grid = grid + field_.permute(0, 2, 3, 1)
    warped = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if cfg.thicken > 0:
        thick = (torch.rand(n, generator=generator) < cfg.thicken).to(device)
        if bool(thick.any()):
            warped[thick] = F.max_pool2d(warped[thick], 3, stride=1, padding=1) * 0.5 + warped[thick] * 0.5
    return warped


AUGMENT_KEYS = ("rotate", "scale", "shear", "shift", "elastic", "thicken")
