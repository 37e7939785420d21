"""A classical (non-learned) text-line detector for clean documents: binarise, smear, take the blobs.

``--detector morph_lines`` selects it, and ``load_detector()`` falls back to it when no bundled detector is
marked default (``db_fast`` is). It suits scans and renders of printed documents (dark text on a light, even
background); scene photos need the DBNet detector. Nothing here is trained, so nothing here pretends to be.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from textlens.runtime.base import Detection


@dataclass
class MorphologyDetector:
    """Finds text lines by joining the ink of neighbouring characters into horizontal blobs.

    ``gap`` is how far apart (in character heights) two glyphs may be and still join one region;
    regions closer than ``line_gap`` on the same row are one line (``Detection.line``), still read one
    by one: receipts space a line's fields two or three characters apart ("19/10/2018  20:49:59  #01"),
    and reading across such gaps cost the recogniser more than it gained (see docs/detection.md).
    Wider gaps (table columns, a label and its amount) start a new line.
    """

    name: str = "morph_lines"
    level: str = "line"  # each region is a whole line (the pipeline keeps it as one)
    gap: float = 1.0
    min_height: int = 5
    max_height_fraction: float = 0.25
    pad_x: float = 0.3  # margins added around each blob, in character heights
    pad_y: float = 0.25
    rule_length: float = 3.0  # straight runs this many character heights long are rules, not text (0: keep)
    line_gap: float = 1.5  # regions closer than this (character heights) on a row form one line (≤ gap: off)

    def ink_mask(self, image: np.ndarray) -> np.ndarray:
        """Text pixels as 255, from a Sauvola-style local threshold of the grey page (dark-on-light)."""
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
        block = max(15, (min(gray.shape[:2]) // 40) | 1)
        mask = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 12)
        if mask.mean() > 127:  # light text on a dark page: the threshold found the background
            mask = 255 - mask
        return mask

    def character_height(self, mask: np.ndarray) -> float:
        """Median height of character-sized connected components."""
        _, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        heights = stats[1:, cv2.CC_STAT_HEIGHT]
        areas = stats[1:, cv2.CC_STAT_AREA]
        keep = (heights >= self.min_height) & (heights < mask.shape[0] * self.max_height_fraction) & (areas >= 8)
        return float(np.median(heights[keep])) if keep.any() else 0.0

    def remove_rules(self, mask: np.ndarray, height: float) -> np.ndarray:
        """Erase form rules and table borders: straight ink runs longer than ``rule_length`` character
        heights. Left in, they join the text above them into one tall region and add false lines."""
        if self.rule_length <= 0:
            return mask
        run = max(int(self.rule_length * height), 15)
        horizontal = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (run, 1)))
        vertical = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, run)))
        return cv2.subtract(mask, cv2.bitwise_or(horizontal, vertical))

    def detect(self, image: np.ndarray) -> list[Detection]:
        mask = self.ink_mask(image)
        height = self.character_height(mask)
        if height <= 0:
            return []
        mask = self.remove_rules(mask, height)
        # Drop large non-text blobs (pictures, stamps) before smearing.
        _, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        h = stats[:, cv2.CC_STAT_HEIGHT]
        w = stats[:, cv2.CC_STAT_WIDTH]
        area = stats[:, cv2.CC_STAT_AREA]
        # Small marks (dots, commas, colons) stay: they bridge the gaps inside a line.
        good = (area >= 2) & (h <= 3.0 * height) & (w <= mask.shape[1] * 0.9)
        good[0] = False
        clean = good.astype(np.uint8)[labels] * np.uint8(255)  # uint8 throughout: a page-sized int64 is 8× larger
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, int(self.gap * height)), 1))
        smeared = cv2.morphologyEx(clean, cv2.MORPH_CLOSE, kernel)
        contours, _ = cv2.findContours(smeared, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        lines = None
        if self.line_gap > self.gap:
            # The same smear with the longer line gap: each region's ink falls in one of its blobs, its line.
            wide = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, int(self.line_gap * height)), 1))
            _, lines = cv2.connectedComponents(cv2.morphologyEx(clean, cv2.MORPH_CLOSE, wide), connectivity=8)
        found: list[Detection] = []
        pad_y, pad_x = self.pad_y * height, self.pad_x * height
        rows, cols = image.shape[:2]
        for contour in contours:
            x, y, bw, bh = cv2.boundingRect(contour)
            if bh < 0.5 * height or bw < 0.3 * height:
                continue
            ink = clean[y : y + bh, x : x + bw]
            x0, y0 = max(0.0, x - pad_x), max(0.0, y - pad_y)
            x1, y1 = min(float(cols), x + bw + pad_x), min(float(rows), y + bh + pad_y)
            quad = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)
            line = None
            if lines is not None:
                # The label most of the ink in its box carries (0 is background, never a line).
                labels = lines[y : y + bh, x : x + bw][ink > 0]
                labels = labels[labels > 0]
                if labels.size:
                    line = int(np.bincount(labels).argmax())
            found.append(Detection(polygon=quad, score=float(min(1.0, 4 * ink.mean() / 255)), line=line))
        return found
