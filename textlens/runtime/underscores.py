"""Join words a word detector split at underscores (``LIRC_GET_REC_TIMEOUT``, ``uint64_t``, ``GRND_RANDOM``).

An underscore is a thin stroke on the baseline with white above it, so a detector trained on words sees a gap
there and cuts the identifier into pieces that read without their underscores (clean-print pages at 200 dpi:
``GRND_RANDOM`` → ``RANDOM``, ``uint64_t`` → ``uint64``, 60-odd such words on 80 pages). Two neighbouring regions
of one row are joined when the columns between them hold ink only in one thin band low in the row, and that band
is an underscore's length, not an underline running under whole words. numpy + OpenCV only (no torch).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace

import cv2
import numpy as np

from textlens.runtime.base import Detection, Recognition

MIN_ROW_OVERLAP = 0.6  # of the shorter region's height: both regions stand on one row
MAX_GAP = 0.8  # of the row's height: farther apart than a wide space is not one identifier
MIN_OVERLAP_GAP = -0.4  # regions may overlap by their margins (the detector's boxes carry ~0.1 × height)
MAX_BAND = 0.12  # thickness of the ink band in the space, of the row height (a stroke, not letters)
MIN_SPACE = 0.1  # the space between the words' letters, of the row height
MIN_STROKED = 0.6  # share of the space's columns the stroke covers (it stops short of the letters by a pixel or two)
BASELINE_SLACK = 0.08  # the band starts at most this share of the row height above the letters' baseline
RULE_REACH = 0.5  # how far past the two regions a rule is looked for, of the row height
RULE_COVER = 0.5  # share of those columns a rule's stroke covers
MAX_DROP = 0.25  # the stroke's top lies at most this far under the baseline, of the row height
BELOW = 0.35  # how far under the regions an underscore is looked for, of the shorter region's height
MAX_OVERHANG = 0.25  # how far an underscore's stroke may reach under the letters beside it, of the row height
MAX_TILT = 0.1  # only level regions: rise over run of the box's top edge


def _level(det: Detection) -> bool:
    if det.curve is not None or det.letters is not None or det.line is not None or len(det.polygon) != 4:
        return False
    (x0, y0), (x1, y1) = det.polygon[0], det.polygon[1]
    return abs(x1 - x0) > 0 and abs(y1 - y0) <= MAX_TILT * abs(x1 - x0)


def _ink(gray: np.ndarray) -> np.ndarray:
    """Ink mask of a crop (Otsu; text is the minority class, dark or light)."""
    _, mask = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return mask if mask.mean() <= 0.5 else 1 - mask


def underscore_between(gray: np.ndarray, left: Detection, right: Detection) -> bool:
    """Whether an underscore joins ``left`` and ``right`` (two regions of one row, ``left`` first)."""
    lx0, ly0, lx1, ly1 = left.box
    rx0, ry0, rx1, ry1 = right.box
    shorter = min(ly1 - ly0, ry1 - ry0)
    height = max(ly1, ry1) - min(ly0, ry0)
    overlap = min(ly1, ry1) - max(ly0, ry0)
    gap = rx0 - lx1
    if shorter <= 0 or overlap < MIN_ROW_OVERLAP * shorter or not MIN_OVERLAP_GAP * shorter <= gap <= MAX_GAP * height:
        return False
    # The window reaches below the regions: an underscore may hang under the baseline, outside the boxes.
    top = int(max(min(ly0, ry0), 0))
    bottom = int(min(max(ly1, ry1) + BELOW * shorter, gray.shape[0]))
    x0, x1 = int(max(lx0, 0)), int(min(rx1, gray.shape[1]))
    if bottom - top < 6 or x1 - x0 < 6:
        return False
    ink = _ink(gray[top:bottom, x0:x1])
    inside = ink[: max(int(min(ly1, ry1)) - top, 1)]  # the regions' own rows: a rule under them is not a baseline
    inked = inside.any(axis=0)
    if not inked.any():
        return False
    lowest = inside.shape[0] - 1 - np.argmax(inside[::-1, inked], axis=0)
    # The baseline: most columns' lowest ink (round and slanted letters end a little above it, descenders below).
    base = float(np.percentile(lowest, 75))
    line = int(base - BASELINE_SLACK * height)  # rows above it hold the letters' bodies
    if line <= 0:
        return False
    # The space between the two words: the run of columns around the regions' meeting point free of letters
    # (above the baseline); an underscore fills every column of it with one thin stroke low in the row.
    bodies = ink[:line].any(axis=0)
    centre = int(np.clip(round((lx1 + rx0) / 2 - x0), 0, ink.shape[1] - 1))
    if bodies[centre]:
        return False
    start = centre - int(np.argmax(bodies[centre::-1])) + 1 if bodies[: centre + 1].any() else 0
    stop = centre + int(np.argmax(bodies[centre:])) if bodies[centre:].any() else ink.shape[1]
    if start == 0 or stop == ink.shape[1] or stop - start < MIN_SPACE * height:
        return False  # no letters on one side, or letters touching: not two words around a gap
    window = ink[line:, start:stop]
    stroked = window.any(axis=0)
    if stroked.mean() < MIN_STROKED:  # a space (blank columns), not a stroke under it
        return False
    rows = np.flatnonzero(window.any(axis=1))
    # An underscore hangs under the baseline (a letter's foot, an L's or a Z's, stands on it), close under it (a
    # rule drawn under the row lies lower).
    if not base < line + rows[0] <= base + MAX_DROP * height:
        return False
    if rows[-1] - rows[0] + 1 > max(2.0, MAX_BAND * height) or rows[-1] >= window.shape[0] - 3:
        return False  # letters, not a stroke; or no blank rows under it: the next line's tops
    band = ink[line + rows[0] : line + rows[-1] + 1].any(axis=0)
    # The ink run along the band through the space stays within it: an underline runs on under the letters.
    left = centre - int(np.argmin(band[centre::-1])) if not band[: centre + 1].all() else 0
    right = centre + int(np.argmin(band[centre:])) if not band[centre:].all() else band.size
    return left >= start - MAX_OVERHANG * height and right <= stop + MAX_OVERHANG * height


def _ruled(gray: np.ndarray, box: tuple[float, float, float, float]) -> bool:
    """Whether a rule runs under ``box`` past its ends (a table header's rule, dashed in a scan), which reads
    like underscores in the spaces between the words above it."""
    x0, y0, x1, y1 = box
    height = y1 - y0
    top, bottom = int(max(y0, 0)), int(min(y1 + BELOW * height, gray.shape[0]))
    reach = int(RULE_REACH * height)
    sides = [(max(int(x0) - reach, 0), int(x0)), (int(x1), min(int(x1) + reach, gray.shape[1]))]
    whole = _ink(gray[top:bottom, sides[0][0] : sides[1][1]])
    low = slice(int(0.5 * (bottom - top)), bottom - top)  # the lower half: under the letters' bodies
    for a, b in sides:
        cols = whole[low, a - sides[0][0] : b - sides[0][0]]
        if cols.shape[1] >= 2 and cols.any(axis=0).mean() >= RULE_COVER and _thin_rows(cols, height):
            return True
    return False


def _thin_rows(ink: np.ndarray, height: float) -> bool:
    """Whether the ink of a strip lies in a thin band of rows (a stroke, not the letters of another word)."""
    rows = np.flatnonzero(ink.any(axis=1))
    return rows.size > 0 and rows[-1] - rows[0] + 1 <= max(2.0, MAX_BAND * height)


def join_underscored(gray: np.ndarray, detections: Sequence[Detection]) -> list[Detection]:
    """``detections`` with each chain of level regions joined by underscores merged into one region."""
    level = [i for i, d in enumerate(detections) if _level(d)]
    if len(level) < 2:
        return list(detections)
    order = sorted(level, key=lambda i: detections[i].box[0])
    joined_to: dict[int, int] = {}  # right region -> the left region it continues
    taken: set[int] = set()
    for k, i in enumerate(order):
        box = detections[i].box
        for j in order[k + 1 :]:
            other = detections[j].box
            if other[0] - box[2] > MAX_GAP * (box[3] - box[1]) * 2:
                break  # sorted by left edge: the rest start farther right
            if j in taken:
                continue
            if underscore_between(gray, detections[i], detections[j]):
                joined_to[j] = i
                taken.add(j)
                break
    if not joined_to:
        return list(detections)
    chains: dict[int, list[int]] = {}
    for i in order:
        head = i
        while head in joined_to:
            head = joined_to[head]
        chains.setdefault(head, []).append(i)
    out: list[Detection] = []
    for i, det in enumerate(detections):
        if i in joined_to:
            continue
        members = chains.get(i)
        if not members or len(members) == 1:
            out.append(det)
            continue
        boxes = np.array([detections[m].box for m in members])
        x0, y0 = boxes[:, 0].min(), boxes[:, 1].min()
        x1, y1 = boxes[:, 2].max(), boxes[:, 3].max()
        if _ruled(gray, (x0, y0, x1, y1)):
            out.extend(detections[m] for m in members)
            continue
        polygon = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)
        gaps = tuple(float(((a[2] + b[0]) / 2 - x0) / max(x1 - x0, 1.0)) for a, b in itertools.pairwise(boxes))
        score = float(min(detections[m].score for m in members))
        out.append(Detection(polygon=polygon, score=score, underscores=gaps))
    return out


def keep_underscores(result: Recognition, gaps: Sequence[float]) -> Recognition:
    """The reading of a joined region with an underscore at each of ``gaps`` (fractions of its width): a space
    read there becomes ``_`` (recognisers that saw few underscores read the stroke as a space), and where no
    character stands between the two words' letters, ``_`` is put in. Without character positions, as read."""
    text, xs = list(result.text), list(result.char_x)
    if not gaps or len(xs) != len(text) or not text:
        return result
    tolerance = max(0.02, 0.5 / len(text))  # half a character
    confs = (
        list(result.char_confidences) if len(result.char_confidences) == len(text) else [result.confidence] * len(text)
    )
    for gap in sorted(gaps, reverse=True):  # right to left: insertions keep the indices on the left valid
        near = [i for i, x in enumerate(xs) if abs(x - gap) <= tolerance and text[i] in " _"]
        if near:  # one underscore for the gap: a space and an underscore read side by side become one
            text[near[0]] = "_"
            for i in reversed(near[1:]):
                del text[i], xs[i], confs[i]
            continue
        after = next((i for i, x in enumerate(xs) if x > gap), None)
        if after is None or after == 0 or text[after - 1] in " _" or text[after] in " _":
            continue
        text.insert(after, "_")
        xs.insert(after, gap)
        confs.insert(after, min(confs[after - 1], confs[after]))
    joined = "".join(text)
    return replace(result, text=joined, char_x=tuple(xs), char_confidences=tuple(confs))
