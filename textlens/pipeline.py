"""OCR: load → preprocess → detect → crop and rectify → recognise → words, lines, blocks → Document.

Runs on onnxruntime through ``textlens.runtime``; importing this module never imports torch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from textlens.document import Document, Line, Page, Word, polygon_box
from textlens.runtime.base import Detection, Detector, Recognition, Recognizer

ImageSource = str | Path | bytes | np.ndarray | Any


def order_quad(points: np.ndarray) -> np.ndarray:
    """Four points ordered top-left, top-right, bottom-right, bottom-left (clockwise in image coords)."""
    pts = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    if len(pts) != 4:
        pts = cv2.boxPoints(cv2.minAreaRect(pts)).astype(np.float32)
    # Start from the point with the smallest x+y, then go clockwise by angle around the centre.
    centre = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    pts = pts[np.argsort(angles)]
    start = int(np.argmin(pts.sum(axis=1)))
    return np.roll(pts, -start, axis=0)


def crop_quad(image: np.ndarray, polygon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rectify a text region to an upright crop; returns the crop and the ordered quad it came from."""
    quad = order_quad(polygon)
    width = round(max(np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[2] - quad[3])))
    height = round(max(np.linalg.norm(quad[3] - quad[0]), np.linalg.norm(quad[2] - quad[1])))
    width, height = max(width, 1), max(height, 1)
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(quad, target)
    crop = cv2.warpPerspective(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return crop, quad


def _point_on_quad(quad: np.ndarray, fx: float, top: bool) -> tuple[float, float]:
    a, b = (quad[0], quad[1]) if top else (quad[3], quad[2])
    p = a + (b - a) * fx
    return (float(p[0]), float(p[1]))


def split_into_words(result: Recognition, quad: np.ndarray) -> list[Word]:
    """Split a recognised line at spaces into words with boxes, using the CTC character positions.

    Without character positions, each character is given an equal share of the line's width.
    """
    text = result.text
    n = len(text)
    if n == 0:
        return []
    xs = list(result.char_x) if len(result.char_x) == n else [(i + 0.5) / n for i in range(n)]
    confs = list(result.char_confidences) if len(result.char_confidences) == n else [result.confidence] * n
    words: list[Word] = []
    i = 0
    while i < n:
        if text[i] == " ":
            i += 1
            continue
        j = i
        while j < n and text[j] != " ":
            j += 1
        # A word spans from halfway to the previous character to halfway to the next one.
        start = 0.0 if i == 0 else (xs[i - 1] + xs[i]) / 2
        end = 1.0 if j == n else (xs[j - 1] + xs[j]) / 2
        if i > 0 and text[i - 1] == " ":
            start = max(start, xs[i] - (xs[i] - xs[i - 1]) / 2)
        poly = (
            _point_on_quad(quad, start, True),
            _point_on_quad(quad, end, True),
            _point_on_quad(quad, end, False),
            _point_on_quad(quad, start, False),
        )
        conf = float(np.mean(confs[i:j]))
        words.append(Word(text=text[i:j], box=polygon_box(poly), confidence=conf, polygon=poly))
        i = j
    return words


DEFAULT_MIN_CONFIDENCE = 0.5


class OCR:
    """The end-to-end reader: ``OCR().read("scan.pdf") -> Document``.

    ``detector`` and ``recognizer`` are bundled model names, folders holding an exported model, or
    objects following the Detector / Recognizer protocols. ``preprocess`` is a callable applied to each
    page image before detection (e.g. ``textlens.preprocess.from_options(deskew=True)``); when it returns
    a transform, boxes are mapped back to the original page. Regions read with a confidence below
    ``min_confidence`` are dropped: on SROIE receipts 97 % of the regions under 0.5 were not text of the
    ground truth (stamps, handwriting, logos, specks).
    """

    def __init__(
        self,
        detector: str | Path | Detector | None = None,
        recognizer: str | Path | Recognizer | None = None,
        preprocess: Callable[[np.ndarray], Any] | None = None,
        threads: int | None = None,
        dpi: int = 200,
        max_pixels: int | None = None,
        min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    ) -> None:
        from textlens.runtime.loading import load_detector, load_recognizer

        self.detector: Detector = (
            detector if isinstance(detector, Detector) else load_detector(detector, threads=threads)
        )
        self.recognizer: Recognizer = (
            recognizer if isinstance(recognizer, Recognizer) else load_recognizer(recognizer, threads=threads)
        )
        self.preprocess = preprocess
        self.dpi = dpi
        self.max_pixels = max_pixels
        self.min_confidence = min_confidence

    def read(self, source: ImageSource) -> Document:
        """Read every page of an image or PDF (path, bytes, numpy array or PIL image)."""
        from textlens.io import load

        options: dict[str, Any] = {"dpi": self.dpi}
        if self.max_pixels is not None:
            options["max_pixels"] = self.max_pixels
        return self.read_pages(load(source, **options))

    def read_pages(self, pages: Sequence[Any]) -> Document:
        """Read already-loaded pages (``textlens.io.PageImage`` objects: image, index, source, dpi)."""
        started = time.perf_counter()
        read = [self.read_page(p.image, index=p.index, source=p.source, dpi=p.dpi) for p in pages]
        meta = {
            "engine": "textlens",
            "detector": getattr(self.detector, "name", str(self.detector)),
            "recognizer": getattr(self.recognizer, "name", str(self.recognizer)),
            "seconds": round(time.perf_counter() - started, 4),
        }
        return Document(pages=tuple(read), metadata=meta)

    def read_page(self, image: np.ndarray, index: int = 0, source: str | None = None, dpi: float | None = None) -> Page:
        """Read one RGB uint8 page image."""
        height, width = image.shape[:2]
        work, back = image, None
        if self.preprocess is not None:
            work, back = self._apply_preprocess(image)
        detections = self.detector.detect(work)
        regions = self.read_region_words(work, detections)
        if back is not None:
            regions = [[_map_word(w, back) for w in words] for words in regions]
        meta = {"index": index, "source": source, "dpi": dpi}
        if getattr(self.detector, "level", "word") == "line":
            # A line detector's regions are the lines: regrouping their words by height would join a
            # receipt's label and amount, which the detector kept apart.
            lines = [Line(words=tuple(words)) for words in regions if words]
            return Page.from_lines(lines, width=width, height=height, **meta)
        return Page.from_words([w for words in regions for w in words], width=width, height=height, **meta)

    def read_regions(self, image: np.ndarray, detections: Sequence[Detection]) -> list[Word]:
        """Crop, rectify and recognise detected regions; return words split at spaces."""
        return [w for words in self.read_region_words(image, detections) for w in words]

    def read_region_words(self, image: np.ndarray, detections: Sequence[Detection]) -> list[list[Word]]:
        """Crop, rectify and recognise detected regions; per region, its words split at spaces."""
        crops, quads = [], []
        for det in detections:
            crop, quad = crop_quad(image, det.polygon)
            crops.append(crop)
            quads.append(quad)
        results = self.recognizer.recognize(crops) if crops else []
        return [
            split_into_words(result, quad) if result.confidence >= self.min_confidence else []
            for result, quad in zip(results, quads, strict=True)
        ]

    def _apply_preprocess(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        assert self.preprocess is not None
        out = self.preprocess(image)
        processed = getattr(out, "image", out)
        matrix = getattr(out, "transform", None)
        if processed.ndim == 2:
            processed = cv2.cvtColor(processed, cv2.COLOR_GRAY2RGB)
        back = None if matrix is None else np.linalg.inv(np.asarray(matrix, dtype=np.float64))
        return processed, back


def _map_word(word: Word, matrix: np.ndarray) -> Word:
    """Map a word's geometry through a 3×3 homogeneous matrix (back to the original page)."""
    points = word.polygon or (
        (word.box[0], word.box[1]),
        (word.box[2], word.box[1]),
        (word.box[2], word.box[3]),
        (word.box[0], word.box[3]),
    )
    pts = np.hstack([np.asarray(points, dtype=np.float64), np.ones((len(points), 1))]) @ matrix.T
    mapped = tuple((float(x / w), float(y / w)) for x, y, w in pts)
    return Word(text=word.text, box=polygon_box(mapped), confidence=word.confidence, polygon=mapped)
