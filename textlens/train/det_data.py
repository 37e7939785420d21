"""Detection batches: training crops with their DB/EAST targets, the resumable training stream, and
validation pages.

Training crops (resize policy): the page is scaled either like inference (long side → ``long_side`` ×
U(0.75, 1.25)) or so that its median word height lands in ``text_height`` px (log-uniform), rotated by a
small angle now and then, and an S×S window is cut around a random word (or anywhere) in one affine warp;
out-of-page pixels take the normalisation mean colour, as inference padding does. Words less than 60%
inside the window become don't-care. Colour jitter follows. Images travel as uint8 (normalised on the device).
The training stream resumes exactly at any step (``textlens.train.stream``).
Validation pages are prepared exactly as the runtime prepares them (``textlens.runtime.detector``).
The pages come from ``textlens.train.det_sources``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import ConcatDataset, DataLoader, Dataset, default_collate

from textlens.data.samples import PageSample, WordAnnotation
from textlens.errors import ConfigError
from textlens.geometry import as_quad, min_side
from textlens.models.detection.targets import db_targets, east_targets
from textlens.runtime.detector import DEFAULT_INPUT, prepare_page
from textlens.train.common import loader_options
from textlens.train.det_sources import IndexedPages, PageSource
from textlens.train.stream import BlockStream, block_slots, stream_fingerprint, stream_place

MIN_VISIBLE = 0.6
MEAN_RGB = tuple(round(255 * m) for m in DEFAULT_INPUT["mean"])


# ------------------------------------------------------------------------------------------------ crops


@dataclass(frozen=True)
class CropPolicy:
    """How training crops are made (see the module docstring)."""

    size: int = 640
    long_side: int = 1024
    text_height: tuple[float, float] = (8.0, 40.0)
    rotate: float = 5.0
    rotate_prob: float = 0.3
    policy_scale_prob: float = 0.5
    word_centred_prob: float = 0.8


def page_geometry(words: Sequence[WordAnnotation]) -> tuple[list[np.ndarray], list[bool]]:
    """Each word's polygon (its box's corners when it has none) and whether it is don't-care."""
    polygons = [as_quad(w.polygon if w.polygon else w.box) for w in words]
    return polygons, [w.is_dont_care for w in words]


def _choose_scale(
    page: PageSample,
    polygons: list[np.ndarray],
    ignore: list[bool],
    policy: CropPolicy,
    rng: np.random.Generator,
) -> float:
    height, width = page.image.shape[:2]
    heights = [min_side(p) for p, ign in zip(polygons, ignore, strict=True) if not ign]
    if not heights or rng.random() < policy.policy_scale_prob:
        return policy.long_side / max(height, width) * float(rng.uniform(0.75, 1.25))
    lo, hi = policy.text_height
    target = math.exp(rng.uniform(math.log(lo), math.log(hi)))
    return float(np.clip(target / max(float(np.median(heights)), 1.0), 0.1, 6.0))


def _crop_matrix(centre: np.ndarray, scale: float, angle: float, size: int) -> np.ndarray:
    """Affine page→crop: move ``centre`` to the crop's centre, scale, and rotate by ``angle`` degrees."""
    matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, scale)
    matrix[:, 2] += np.array([size / 2.0, size / 2.0]) - centre
    return matrix


def _visible_fraction(poly: np.ndarray, size: int) -> float:
    x0, y0 = poly.min(axis=0)
    x1, y1 = poly.max(axis=0)
    area = max(x1 - x0, 1e-6) * max(y1 - y0, 1e-6)
    inner = max(0.0, min(x1, size) - max(x0, 0)) * max(0.0, min(y1, size) - max(y0, 0))
    return float(inner / area)


def colour_jitter(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Brightness/contrast (per-channel tables), sometimes grey, inverted, blurred or noisy."""
    gain, bias = rng.uniform(0.7, 1.3), rng.uniform(-30, 30)
    levels = np.arange(256, dtype=np.float32)
    tint = rng.uniform(0.9, 1.1, size=3)
    invert = rng.random() < 0.05
    tables = []
    for c in range(3):
        table = ((levels - 128.0) * gain + 128.0 + bias) * tint[c]
        tables.append(255.0 - table if invert else table)
    lut = np.clip(np.stack(tables, axis=1), 0, 255).astype(np.uint8).reshape(256, 1, 3)
    out = cv2.LUT(image, lut)
    if rng.random() < 0.3:
        out = cv2.cvtColor(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    if rng.random() < 0.15:
        out = cv2.GaussianBlur(out, (0, 0), float(rng.uniform(0.3, 1.0)))
    if rng.random() < 0.2:
        noise = np.empty(out.shape, np.int16)
        cv2.randn(noise, 0, float(rng.uniform(2, 10)))
        out = np.clip(out.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    return out


def training_crop(
    page: PageSample, policy: CropPolicy, rng: np.random.Generator
) -> tuple[np.ndarray, list[np.ndarray], list[bool]]:
    """One S×S RGB uint8 crop of ``page`` with its word polygons (crop pixels) and don't-care flags."""
    image = page.image if page.image.ndim == 3 else cv2.cvtColor(page.image, cv2.COLOR_GRAY2RGB)
    polygons, ignore = page_geometry(page.words)
    scale = _choose_scale(page, polygons, ignore, policy, rng)
    if scale < 0.6:
        # warpAffine has no area filter: shrink with INTER_AREA first so thin strokes do not alias away.
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        polygons = [p * scale for p in polygons]
        scale = 1.0
    height, width = image.shape[:2]
    care = [i for i, ign in enumerate(ignore) if not ign]
    if care and rng.random() < policy.word_centred_prob:
        centre = polygons[care[int(rng.integers(len(care)))]].mean(axis=0)
        centre = centre + rng.uniform(-0.3, 0.3, 2) * policy.size / scale
    else:
        centre = np.array([rng.uniform(0, width), rng.uniform(0, height)])
    angle = float(rng.uniform(-policy.rotate, policy.rotate)) if rng.random() < policy.rotate_prob else 0.0
    matrix = _crop_matrix(np.asarray(centre, np.float64), scale, angle, policy.size)
    crop = cv2.warpAffine(
        image,
        matrix,
        (policy.size, policy.size),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=MEAN_RGB,
    )
    out_polys, out_ignore = [], []
    for poly, ign in zip(polygons, ignore, strict=True):
        moved = (poly @ matrix[:, :2].T + matrix[:, 2]).astype(np.float32)
        visible = _visible_fraction(moved, policy.size)
        if visible <= 0:
            continue
        out_polys.append(moved)
        out_ignore.append(ign or visible < MIN_VISIBLE)
    return colour_jitter(crop, rng), out_polys, out_ignore


def make_targets(
    method: str, polygons: list[np.ndarray], ignore: list[bool], size: int, stride: int = 4
) -> dict[str, np.ndarray]:
    """Compact targets for one crop: masks as uint8, continuous maps as float16 (they cross processes)."""
    if method == "east":
        t = east_targets(polygons, ignore, size, size, stride=stride)
        return {
            "score": t["score"].astype(np.uint8),
            "mask": t["mask"].astype(np.uint8),
            "geo": t["geo"].astype(np.float32),
        }
    t = db_targets(polygons, ignore, size, size)
    return {
        "gt": t["gt"].astype(np.uint8),
        "mask": t["mask"].astype(np.uint8),
        "thresh": t["thresh"].astype(np.float16),
        "thresh_mask": t["thresh_mask"].astype(np.uint8),
    }


# ------------------------------------------------------------------------------------------------ datasets


class DetTrainStream(BlockStream):
    """Endless batches of training crops: pages of the sources mixed by weight, each cut into crops with targets.

    A block (``textlens.train.stream``) is one batch: its pages are drawn from the block's index alone (each
    source's share of them from its own slice of its pass order), so a resumed run continues the stream
    exactly. A block takes as many pages as its crops need on average; the few crops that overshoot the
    batch are not cut, and missing ones come from extra pages picked by weight.
    """

    def __init__(
        self,
        sources: Sequence[PageSource],
        weights: Sequence[float],
        policy: CropPolicy,
        method: str = "db",
        seed: int = 0,
        batch_size: int = 8,
    ) -> None:
        if not sources:
            raise ConfigError("no training data: give at least one --data source")
        super().__init__(seed, 1)
        self.sources, self.policy, self.method, self.batch_size = list(sources), policy, method, batch_size
        self.weights = np.asarray(weights, np.float64) / float(np.sum(weights))
        crops_per_page = float(np.dot(self.weights, [s.crops_per_page for s in self.sources]))
        self.pages_per_block = max(1, round(batch_size / crops_per_page))

    def make_block(self, block: int) -> list[dict[str, Any]]:
        cv2.setNumThreads(1)  # the workers are the parallelism; OpenCV threads would oversubscribe
        rng = self.rng(block)
        order, starts, counts = block_slots(self.weights, self.pages_per_block, block, rng)
        readers = [
            source.reader(starts[k], counts[k], self.reader_rng(block, k), self.pass_seed(k))
            for k, source in enumerate(self.sources)
        ]
        picks = itertools.chain(order, _weighted_picks(self.weights, rng))
        crops: list[dict[str, Any]] = []
        while len(crops) < self.batch_size:
            k = next(picks)
            page = next(page for page in readers[k] if page.image.size > 0)
            for _ in range(min(self.sources[k].crops_per_page, self.batch_size - len(crops))):
                crop, polygons, ignore = training_crop(page, self.policy, rng)
                crops.append(
                    {
                        "images": np.ascontiguousarray(crop.transpose(2, 0, 1)),
                        **make_targets(self.method, polygons, ignore, self.policy.size),
                    }
                )
        return [default_collate(crops)]


def _weighted_picks(weights: np.ndarray, rng: np.random.Generator) -> Iterator[int]:
    """Sources picked by weight, endlessly: the pages a block takes when its planned ones fall short."""
    while True:
        yield int(rng.choice(len(weights), p=weights))


class ValPages(Dataset):
    """Validation pages prepared like inference: (1×3×H×W input, scale, page size, words)."""

    def __init__(self, sources: Sequence[IndexedPages], input_spec: dict[str, Any]) -> None:
        self.data = ConcatDataset([_AsDataset(s) for s in sources])
        self.input_spec = input_spec

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> dict[str, Any]:
        page: PageSample = self.data[index]
        batch, scale = prepare_page(page.image, self.input_spec)
        height, width = page.image.shape[:2]
        return {
            "images": torch.from_numpy(batch),
            "scale": scale,
            "size": (width, height),
            "words": page.words,
        }


class _AsDataset(Dataset):
    def __init__(self, source: IndexedPages) -> None:
        self.source = source

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> PageSample:
        return self.source[index]


def _first(items: list[dict[str, Any]]) -> dict[str, Any]:
    return items[0]  # validation pages differ in size: one page a batch


class DetectionDataModule(pl.LightningDataModule):
    """Training stream and validation pages for one detector."""

    def __init__(
        self,
        train: Sequence[PageSource],
        weights: Sequence[float],
        val: Sequence[IndexedPages],
        policy: CropPolicy,
        input_spec: dict[str, Any],
        method: str = "db",
        batch_size: int = 8,
        workers: int = 1,
        seed: int = 0,
        pin_memory: bool = False,
    ) -> None:
        super().__init__()
        self.train_sources, self.weights, self.val_sources = list(train), list(weights), list(val)
        self.policy, self.input_spec, self.method = policy, input_spec, method
        self.batch_size, self.workers, self.seed, self.pin_memory = batch_size, workers, seed, pin_memory

    def _options(self, workers: int) -> dict[str, Any]:
        return loader_options(workers, prefetch=4, pin_memory=self.pin_memory)

    def transfer_batch_to_device(self, batch: Any, device: torch.device, dataloader_idx: int) -> Any:
        # Validation batches carry frozen WordAnnotation dataclasses, which Lightning's mover rejects.
        if isinstance(batch, dict) and "words" in batch:
            return {**batch, "images": batch["images"].to(device)}
        return super().transfer_batch_to_device(batch, device, dataloader_idx)

    def train_dataloader(self) -> DataLoader:
        stream = DetTrainStream(
            self.train_sources, self.weights, self.policy, self.method, self.seed, self.batch_size
        ).place(*stream_place(self.trainer))
        return stream.loader(**self._options(self.workers))

    def fingerprint(self, ranks: int) -> dict[str, Any]:
        """What decides the training stream on ``ranks`` ranks (see ``textlens.train.resume``)."""
        return stream_fingerprint(self.seed, self.batch_size, self.train_sources, self.weights, ranks)

    def state_dict(self) -> dict[str, Any]:
        # Saved in checkpoints so that --resume can warn when the options would draw another stream.
        return {"stream": self.fingerprint(self.trainer.world_size if self.trainer is not None else 1)}

    def val_dataloader(self) -> DataLoader | list:
        if not self.val_sources:
            return []
        return DataLoader(
            ValPages(self.val_sources, self.input_spec),
            batch_size=1,
            shuffle=False,
            collate_fn=_first,
            **self._options(min(self.workers, 2)),
        )
