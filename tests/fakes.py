"""Small deterministic stand-ins for models, so pipeline and CLI mechanics are tested without weights."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from textlens.runtime.base import Detection, Recognition


class InkBlobDetector:
    """Finds dark ink regions: dilates the binarised page horizontally and returns each blob's box."""

    name = "fake-ink-detector"

    def detect(self, image: np.ndarray) -> list[Detection]:
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
        _, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
        if ink.mean() > 127:  # a blank page thresholds to noise; nothing to find
            return []
        blobs = cv2.dilate(ink, np.ones((3, 25), np.uint8))
        contours, _ = cv2.findContours(blobs, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        found = []
        for contour in contours:
            x, y, w, h = cv2.boundingRect(contour)
            if w * h >= 20:
                quad = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], dtype=np.float32)
                found.append(Detection(polygon=quad, score=1.0))
        return found


class WidthRecognizer:
    """'Reads' a crop as two words whose lengths follow its width: honest about being a fake."""

    name = "fake-width-recognizer"

    def recognize(self, crops: Sequence[np.ndarray]) -> list[Recognition]:
        out = []
        for crop in crops:
            n = max(1, crop.shape[1] // 40)
            text = "a" * n + " " + "b" * n
            xs = tuple((i + 0.5) / len(text) for i in range(len(text)))
            out.append(Recognition(text=text, confidence=0.75, char_confidences=(0.75,) * len(text), char_x=xs))
        return out
