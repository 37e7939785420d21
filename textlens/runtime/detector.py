"""OnnxDetector: finds word polygons on a page with an exported detector, through onnxruntime only.

Resize policy (the same function prepares validation pages in training): the page is resized so its long
side is ``input.long_side`` px (1024 by default; upscaling is capped at ``input.max_upscale``), keeping the
aspect ratio, normalised ``(x/255 - mean)/std`` and zero-padded (the mean colour) on the right and bottom to
a multiple of ``input.multiple`` (32). The model's maps are post-processed (DB contours + unclip, or EAST
RBOX + locality-aware NMS, after ``postprocess.method``) and mapped back to page pixels.

With ``ink_fill`` (config key, or the keyword), ink the model left uncovered is added back: word-sized ink
blobs of the classical detector (``textlens.runtime.classic``) less than ``INK_FILL_COVERED`` covered by the
model's regions become regions of their own, for the recogniser's confidence filter to keep or drop. A map
trained on prose gives lone one- and two-character tokens ("2 x" before an item) too little mass to pass
its thresholds; their ink is plain to a binarisation.

Very large pages (long side above twice the policy) are read in tiles, so small print is not shrunk away:
the page is resized to a long side of ``2 × long_side``, cut into ``long_side`` squares overlapping by a
quarter, each tile keeps the words whose centre lies in its core (the tile minus half the overlap on inner
sides), and duplicates are removed with NMS.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from textlens.errors import ConfigError, CorruptImage
from textlens.runtime.base import Detection
from textlens.runtime.classic import MorphologyDetector
from textlens.runtime.postprocess import (
    DEFAULT_DB,
    DEFAULT_EAST,
    db_postprocess,
    east_postprocess,
    nms_quads,
    sort_reading,
)
from textlens.runtime.session import get_session

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_INPUT = {
    "long_side": 1024,
    "multiple": 32,
    "max_upscale": 2.0,
    "mean": list(IMAGENET_MEAN),
    "std": list(IMAGENET_STD),
}
INK_FILL_COVERED = 0.3  # share of an ink blob's box under model regions above which the blob is not added
# Heights, × the median height of the model's regions, outside which an uncovered blob is not text of the
# page's print: held-out receipts' missed quantities measure 0.9-1.1, their logos and stamps 1.3-3.1.
INK_FILL_HEIGHTS = (0.5, 1.3)
# Word-sized blobs: glyphs closer than 0.35 character heights join (a space is about 0.3-0.5 of them).
INK_WORDS = MorphologyDetector(gap=0.35, line_gap=0.0, pad_x=0.1, pad_y=0.25)
TILE_OVERLAP = 0.25
TILE_NMS_IOU = 0.3


def as_rgb(image: np.ndarray) -> np.ndarray:
    """An RGB uint8 H×W×3 view of a grey, RGB or RGBA uint8 array."""
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or min(image.shape[:2]) < 1:
        raise CorruptImage(f"expected an RGB uint8 H×W×3 image, got {image.dtype} array of shape {image.shape}")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return np.ascontiguousarray(image[..., :3])
    if image.shape[2] == 1:
        return cv2.cvtColor(image[..., 0], cv2.COLOR_GRAY2RGB)
    return image


def resize_scale(height: int, width: int, long_side: int, max_upscale: float = 2.0) -> float:
    return min(long_side / max(height, width), max_upscale)


def normalize(image: np.ndarray, mean: Any, std: Any, multiple: int = 32) -> np.ndarray:
    """RGB uint8 H×W×3 → float32 3×H'×W' normalised, zero-padded right/bottom to a ``multiple``."""
    height, width = image.shape[:2]
    out_h, out_w = -(-height // multiple) * multiple, -(-width // multiple) * multiple
    out = np.zeros((3, out_h, out_w), np.float32)
    # A 256-entry table per channel, the very float32 arithmetic of the whole-image formula: a 1024×768 page
    # took 20-25 ms converted and transposed in floats, a table look-up per channel a few.
    table = (np.arange(256, dtype=np.float32)[:, None] * (1.0 / 255.0) - np.asarray(mean, np.float32)) / np.asarray(
        std, np.float32
    )
    pixels = np.asarray(image)
    for channel in range(3):
        out[channel, :height, :width] = table[:, channel][pixels[..., channel]]
    return out


def prepare_page(
    image: np.ndarray, input_spec: dict[str, Any], long_side: int | None = None
) -> tuple[np.ndarray, tuple[float, float]]:
    """A page as the model's 1×3×H×W input, and (sx, sy): model pixels per page pixel."""
    spec = {**DEFAULT_INPUT, **input_spec}
    image = as_rgb(image)
    height, width = image.shape[:2]
    scale = resize_scale(height, width, int(long_side or spec["long_side"]), float(spec["max_upscale"]))
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    if (new_w, new_h) != (width, height):
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        image = cv2.resize(image, (new_w, new_h), interpolation=interp)
    batch = normalize(image, spec["mean"], spec["std"], int(spec["multiple"]))[None]
    return batch, (new_w / width, new_h / height)


class OnnxDetector:
    """A :class:`~textlens.runtime.base.Detector` running ``folder/model.onnx`` on CPU.

    ``config`` is the folder's ``config.json`` (read when not given); ``long_side`` overrides its
    ``input.long_side``; ``threads`` sets onnxruntime's intra-op threads (else $TEXTLENS_THREADS);
    ``tile=False`` turns tiled detection off; other keyword options override ``config["postprocess"]``.
    """

    def __init__(
        self,
        folder: str | Path,
        config: dict[str, Any] | None = None,
        threads: int | None = None,
        long_side: int | None = None,
        tile: bool = True,
        ink_fill: bool | None = None,
        providers: Sequence[Any] | None = None,
        **postprocess: Any,
    ) -> None:
        self.folder = Path(folder)
        if config is None:
            config = json.loads((self.folder / "config.json").read_text(encoding="utf-8"))
        self.config = config
        self.name = str(config.get("name", self.folder.name))
        # "word" when trained on word boxes (the pipeline groups words into lines), "line" for line boxes.
        self.level = str(config.get("level", "word"))
        self.input = {**DEFAULT_INPUT, **config.get("input", {})}
        if long_side is not None:
            if long_side < 32:
                raise ConfigError(f"long_side must be at least 32 px, got {long_side}")
            self.input["long_side"] = int(long_side)
        options = dict(config.get("postprocess", {}))
        self.method = str(options.pop("method", "db"))
        if self.method not in ("db", "east"):
            raise ConfigError(f"unknown detection post-processing {self.method!r} (db or east)", self.folder)
        self.stride = int(options.pop("stride", 4 if self.method == "east" else 1))
        defaults = DEFAULT_DB if self.method == "db" else DEFAULT_EAST
        self.postprocess = {**defaults, **{k: v for k, v in options.items() if k in defaults}, **postprocess}
        self.tile = tile
        self.ink_fill = bool(config.get("ink_fill", False)) if ink_fill is None else ink_fill
        self.session = get_session(self.folder / "model.onnx", threads, providers)
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [o.name for o in self.session.get_outputs()]

    # ------------------------------------------------------------------ running
    def maps(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Raw model outputs for a prepared N×3×H×W batch, by output name."""
        return dict(zip(self.output_names, self.session.run(None, {self.input_name: batch}), strict=True))

    def _decode(
        self, maps: dict[str, np.ndarray], scale: tuple[float, float], size: tuple[int, int]
    ) -> list[Detection]:
        if self.method == "east":
            return east_postprocess(maps["prob"][0, 0], maps["geo"][0], self.stride, scale, size, **self.postprocess)
        return db_postprocess(maps["prob"][0, 0], scale, size, **self.postprocess)

    def detect(
        self, image: np.ndarray, *, long_side: int | None = None, ink_fill: bool | None = None
    ) -> list[Detection]:
        """Word polygons (4×2, clockwise from top-left, page pixels) with scores, in reading order.

        ``long_side`` and ``ink_fill`` override the detector's own for this page (the pipeline's scene
        domain: an input size by the text's size, no ink fill)."""
        image = as_rgb(image)
        height, width = image.shape[:2]
        spec = self.input if long_side is None else {**self.input, "long_side": int(long_side)}
        if self.tile and max(height, width) > 2 * spec["long_side"]:
            found = self._detect_tiled(image, int(spec["long_side"]))
        else:
            batch, scale = prepare_page(image, spec)
            found = self._decode(self.maps(batch), scale, (width, height))
        fill = self.ink_fill if ink_fill is None else ink_fill
        return sort_reading(found + uncovered_ink(image, found)) if fill else found

    def _detect_tiled(self, image: np.ndarray, tile: int | None = None) -> list[Detection]:
        height, width = image.shape[:2]
        tile = int(tile or self.input["long_side"])
        scale = 2 * tile / max(height, width)
        work = cv2.resize(
            image, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA
        )
        wh, ww = work.shape[:2]
        overlap = int(tile * TILE_OVERLAP)
        found: list[Detection] = []
        for y0 in _tile_starts(wh, tile, overlap):
            for x0 in _tile_starts(ww, tile, overlap):
                piece = work[y0 : y0 + tile, x0 : x0 + tile]
                batch = normalize(piece, self.input["mean"], self.input["std"], int(self.input["multiple"]))[None]
                core = _core(x0, y0, piece.shape[1], piece.shape[0], ww, wh, overlap)
                for det in self._decode(self.maps(batch), (1.0, 1.0), (piece.shape[1], piece.shape[0])):
                    centre = det.polygon.mean(axis=0) + np.array([x0, y0])
                    if core[0] <= centre[0] < core[2] and core[1] <= centre[1] < core[3]:
                        shift = np.array([x0, y0])
                        polygon = ((det.polygon + shift) / scale).astype(np.float32)
                        curve = None if det.curve is None else ((det.curve + shift) / scale).astype(np.float32)
                        found.append(Detection(polygon=polygon, score=det.score, curve=curve))
        if not found:
            return []
        keep = nms_quads(np.stack([d.polygon for d in found]), np.array([d.score for d in found]), TILE_NMS_IOU)
        return sort_reading([found[i] for i in keep])


def uncovered_ink(image: np.ndarray, regions: Sequence[Detection]) -> list[Detection]:
    """Word-sized ink blobs of ``image`` that ``regions`` cover less than ``INK_FILL_COVERED`` of, of the
    height of the regions' print (``INK_FILL_HEIGHTS``: larger blobs are logos and stamps)."""
    height, width = image.shape[:2]
    covered = np.zeros((height, width), np.uint8)
    for region in regions:
        cv2.fillPoly(covered, [np.round(region.polygon).astype(np.int32)], 1)
    low, high = 0.0, np.inf
    if regions:
        typical = float(np.median([r.box[3] - r.box[1] for r in regions]))
        low, high = INK_FILL_HEIGHTS[0] * typical, INK_FILL_HEIGHTS[1] * typical
    added = []
    for blob in INK_WORDS.detect(image):
        x0, y0, x1, y1 = (round(v) for v in blob.box)
        window = covered[y0:y1, x0:x1]
        if window.size and float(window.mean()) < INK_FILL_COVERED and low <= y1 - y0 <= high:
            added.append(blob)
    return added


def _tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    if length <= tile:
        return [0]
    step = tile - overlap
    starts = list(range(0, length - tile, step))
    return [*starts, length - tile]


def _core(x0: int, y0: int, w: int, h: int, total_w: int, total_h: int, overlap: int) -> tuple[float, ...]:
    """The part of a tile whose detections it owns: half the overlap is trimmed on inner sides."""
    half = overlap / 2
    return (
        x0 + half if x0 > 0 else -np.inf,
        y0 + half if y0 > 0 else -np.inf,
        x0 + w - half if x0 + w < total_w else np.inf,
        y0 + h - half if y0 + h < total_h else np.inf,
    )
