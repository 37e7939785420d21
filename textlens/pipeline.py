"""OCR: load → preprocess → detect → crop and rectify → recognise → words, lines, blocks → Document.

Runs on onnxruntime through ``textlens.runtime``; importing this module never imports torch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from textlens.document import WORD_BOX_GAP, Document, Line, Page, Word, polygon_box, vertical_overlap
from textlens.runtime.base import Detection, Detector, Recognition, Recognizer
from textlens.runtime.crops import ink_mask, trim_rows_to_ink
from textlens.runtime.ctc import CASE_BY_SIZE

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


def _pixel_box(gray: np.ndarray, box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """``box`` widened to whole pixels and clipped to the image."""
    height, width = gray.shape[:2]
    x0, y0 = max(int(np.floor(box[0])), 0), max(int(np.floor(box[1])), 0)
    return x0, y0, min(int(np.ceil(box[2])), width), min(int(np.ceil(box[3])), height)


def _has_ink(patch: np.ndarray) -> bool:
    return patch.size >= 16 and float(patch.std()) >= INK_MIN_CONTRAST


def fit_to_ink(gray: np.ndarray, word: Word, margin_fraction: float = 0.1) -> Word:
    """``word`` with its box shrunk to the ink inside it plus a margin of ``margin_fraction`` × its height.

    Detection regions carry margins for the recogniser and CTC word cuts fall mid-gap, so word boxes are
    loose; a word's own ink gives the tight box people (and IoU-scored benchmarks) expect. Only axis-aligned
    words are fitted; a box without clear ink (low contrast, or ink everywhere) is kept as it is. A word
    whose polygon starts at another corner of its box (text read turned) keeps that start, and vertical
    text is fitted along its own direction.
    """
    if word.polygon is None:
        corner = 0
    else:
        corner = _box_corner(word.polygon)
        if corner is None:
            return word
    vertical = corner % 2 == 1  # starts at the bottom-left (text runs up) or top-right (runs down)
    page = gray.T if vertical else gray
    box = _transposed(word.box) if vertical else word.box
    fitted = _fit_box(page, box, margin_fraction)
    if fitted is None:
        return word
    x0, y0, x1, y1 = _transposed(fitted) if vertical else fitted
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    poly = tuple(corners[corner:] + corners[:corner])
    return Word(text=word.text, box=(x0, y0, x1, y1), confidence=word.confidence, polygon=poly)


def _transposed(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    return (box[1], box[0], box[3], box[2])


def _fit_box(
    gray: np.ndarray, box: tuple[float, float, float, float], margin_fraction: float
) -> tuple[float, float, float, float] | None:
    """The part of ``box`` (horizontal text) around its ink, with margins; None without clear ink."""
    x0, y0, x1, y1 = _pixel_box(gray, box)
    patch = gray[y0:y1, x0:x1]
    if not _has_ink(patch):
        return None
    points = cv2.findNonZero(ink_mask(np.ascontiguousarray(patch)))
    if points is None:
        return None
    bx, by, bw, bh = cv2.boundingRect(points)
    margin = margin_fraction * (y1 - y0)
    # A narrow glyph ("1", "I") keeps a box at least MIN_WORD_ASPECT × its height wide, as annotators draw it.
    side = max(margin, (MIN_WORD_ASPECT * (bh + 2 * margin) - bw) / 2)
    return (
        max(x0 + bx - side, box[0]),
        max(y0 + by - margin, box[1]),
        min(x0 + bx + bw + side, box[2]),
        min(y0 + by + bh + margin, box[3]),
    )


_DESCENDING = frozenset("gjpqyQ(){}[]|/@$,;_")
# Ink height, × the line's cap height, below which a lone letter is small: x-heights are 0.66-0.76 of the
# cap height in common fonts; receipt fonts print a capital "X" a little under their digits' height, so
# digits do not set the reference (held-out SROIE "1 X 7.00" read "x" with digits counted, at 0.85).
LOWER_CASE_HEIGHT = 0.8


def ink_height(gray: np.ndarray, box: tuple[float, float, float, float]) -> float | None:
    """Height of the tallest unbroken band of ink rows inside ``box`` of the grey page (None without clear
    ink): ink of the lines above and below that a loose box takes in is apart from the word's own band."""
    x0, y0, x1, y1 = _pixel_box(gray, box)
    patch = gray[y0:y1, x0:x1]
    if not _has_ink(patch):
        return None
    counts = ink_mask(patch).sum(axis=1)
    inked = np.concatenate([[0], (counts >= max(0.1 * counts.max(), 1)).astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(inked))  # band starts and ends, alternating
    return float(np.max(edges[1::2] - edges[::2])) if edges.size else None


def _cap_height_word(text: str) -> bool:
    """Whether a word's ink spans exactly the cap height: a capital or ascender letter, no descender."""
    return (
        len(text) >= 2 and any(c.isupper() or c in "bdfhklt" for c in text) and not any(c in _DESCENDING for c in text)
    )


def settle_lone_letter_case(gray: np.ndarray, regions: list[list[Word]]) -> list[list[Word]]:
    """Lone letters of CASE_BY_SIZE ("2 x Notebook") cased by their ink height against the cap height of
    the words beside them on their line, as a reader does; without such words, or in a line written in
    capitals, the reading stays."""
    words = [w for region in regions for w in region]
    out = []
    for region in regions:
        settled = []
        for word in region:
            if word.text in CASE_BY_SIZE and (height := ink_height(gray, word.box)):
                middle = (word.box[1] + word.box[3]) / 2
                line = [other for other in words if other is not word and other.box[1] <= middle <= other.box[3]]
                letters = [c for other in line for c in other.text if c.isalpha()]
                caps = [h for other in line if _cap_height_word(other.text) if (h := ink_height(gray, other.box))]
                # In a line of capitals a lone letter is a capital too, however small the font draws it
                # (receipts print "1 X 7.00 SR" with a low "X"; SROIE transcribes it "X").
                if caps and not all(c.isupper() for c in letters):
                    small = height < LOWER_CASE_HEIGHT * float(np.median(caps))
                    text = word.text.lower() if small else word.text.upper()
                    word = Word(text=text, box=word.box, confidence=word.confidence, polygon=word.polygon)
            settled.append(word)
        out.append(settled)
    return out


def _box_corner(polygon: Sequence[tuple[float, float]], tolerance: float = 0.02) -> int | None:
    """Which corner of its bounding box an axis-aligned quad starts at (0 top-left, 1 top-right, 2 bottom-right,
    3 bottom-left: the text's top-left after a turn of 0, 270, 180 or 90° clockwise); None when it is tilted
    (its first edge rises or runs by more than ``tolerance`` of its length)."""
    points = np.asarray(polygon, dtype=np.float64)
    (ax, ay), (bx, by) = points[0], points[1]
    if abs(by - ay) > tolerance * max(abs(bx - ax), 1.0) and abs(bx - ax) > tolerance * max(abs(by - ay), 1.0):
        return None
    x_mid, y_mid = points[:, 0].mean(), points[:, 1].mean()
    right, below = ax > x_mid, ay > y_mid
    return {(False, False): 0, (True, False): 1, (True, True): 2, (False, True): 3}[(bool(right), bool(below))]


MIN_WORD_ASPECT = 0.8  # narrowest fitted box, × its height (a lone "1" is boxed like a character cell)
INK_MIN_CONTRAST = 12.0  # grey-level standard deviation below which a patch has no clear ink
DEFAULT_MIN_CONFIDENCE = 0.6
# The recogniser's second look (OnnxRecognizer) is off for pages: on the held-out pages with db_fast and
# crnn_fast stage 6 it changed little (FUNSD e2e 0.812 → 0.810, SROIE e2e-ci 0.849 → 0.847) and cost 0.04-0.07 s
# per FUNSD page; it pays on tight scene word crops (ic03 77.9 → 81.7 %), not on detector crops with margins.
PAGE_SECOND_LOOK_BELOW: float | None = None
# A region less than 1.5 × as wide as high holds one or two characters: specks, checkboxes and stamp
# fragments read as "1", "o" or ")" with fair confidence, so such a region must read at 0.9 to be kept.
SHORT_REGION_ASPECT = 1.5
SHORT_REGION_CONFIDENCE = 0.9
# Page orientation: regions read to decide, the mean confidence above which the page is taken as upright
# without trying it upside down, and how much better the upside-down reading must be to win.
ORIENTATION_SAMPLE = 12
UPRIGHT_CONFIDENCE = 0.85
FLIP_MARGIN = 0.1
FLIP_MIN_CONFIDENCE = 0.6  # junk (rules, speckle) reads badly both ways: it must not turn a page
ORIENTATION_MIN_CHARS = 3
# One upside-down line on an upright page (a stamp, a label printed the other way): a long row of text (width
# ≥ 6 × height: a line region, or a word detector's regions along one row) read with confidence under 0.9
# is also read turned by 180°, and the turn wins at ≥ 0.9 and 0.1 above. Short rows are never turned: upside
# down, "No" reads "ON" and "Shannon" "uouueus" with confidence > 0.9. Measured on 120 upright FUNSD/SROIE
# pages: no long region turned by mistake, and 57 % of long text lines turned in place set right (the bar
# was 0.8 for line regions; an upside-down row of word regions reads higher, the demo's at 0.825, and at 0.9
# still no upright row of the 120 pages turned).
LINE_FLIP_MIN_ASPECT = 6.0
LINE_FLIP_BELOW = 0.9
LINE_FLIP_MIN_CONFIDENCE = 0.9


def _centre_window(crop: np.ndarray, aspect: float = 8.0) -> np.ndarray:
    """The middle of a long crop, at most ``aspect`` × its height wide: ten-odd characters show which way
    up text is, and reading whole lines twice cost 0.47 s per FUNSD page."""
    height, width = crop.shape[:2]
    keep = int(aspect * height)
    if width <= keep:
        return crop
    start = (width - keep) // 2
    return crop[:, start : start + keep]


def _orientation_sample(detections: Sequence[Detection]) -> list[Detection]:
    """The widest regions of about the typical line height (rules and smudges are thinner or taller)."""
    heights = np.array([np.ptp(d.polygon[:, 1]) for d in detections], dtype=np.float64)
    if not len(heights):
        return []
    typical = float(np.median(heights))
    usable = [d for d, h in zip(detections, heights, strict=True) if 0.6 * typical <= h <= 1.6 * typical]
    return sorted(usable, key=lambda d: -float(np.ptp(d.polygon[:, 0])))[:ORIENTATION_SAMPLE]


def rotate_image(image: np.ndarray, degrees_cw: int) -> np.ndarray:
    """``image`` turned clockwise by a multiple of 90 degrees."""
    return np.ascontiguousarray(np.rot90(image, -((degrees_cw // 90) % 4)))


def _wide_regions(detections: Sequence[Detection]) -> list[Detection]:
    """Regions at least 1.5 times as wide as high: how text lines and most words look when upright."""
    out = []
    for det in detections:
        width, height = np.ptp(det.polygon[:, 0]), np.ptp(det.polygon[:, 1])
        if width >= 1.5 * max(height, 1.0):
            out.append(det)
    return out


class OCR:
    """The end-to-end reader: ``OCR().read("scan.pdf") -> Document``.

    ``detector`` and ``recognizer`` are bundled model names, folders holding an exported model, or
    objects following the Detector / Recognizer protocols. ``preprocess`` is a callable applied to each
    page image before detection (e.g. ``textlens.preprocess.from_options(deskew=True)``); when it returns
    a transform, boxes are mapped back to the original page. Regions read with a confidence below
    ``min_confidence`` are dropped, and regions of one or two characters (under 1.5 × as wide as high)
    read with less than 0.9: on SROIE receipts 97 % of the regions under 0.5 were not text of the ground
    truth (stamps, handwriting, logos, specks). ``min_confidence=0`` keeps every region.

    With ``orientation`` (the default), sideways and upside-down pages are turned upright first; the
    Page records the turn in ``rotation`` and its coordinates are those of the turned image. Long regions
    read with low confidence are also read turned by 180° and kept that way when that reads clearly
    better (their words then run right to left on the page, each polygon starting at the text's own
    top-left corner).

    ``second_look_below`` (off by default) loads a named recogniser with that second-look threshold (see
    :class:`~textlens.runtime.recognizer.OnnxRecognizer`); a given Recognizer object keeps its own.
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
        orientation: bool = True,
        fit_boxes: bool = True,
        trim_crops: bool = True,
        second_look_below: float | None = PAGE_SECOND_LOOK_BELOW,
    ) -> None:
        from textlens.runtime.loading import load_detector, load_recognizer

        self.detector: Detector = (
            detector if isinstance(detector, Detector) else load_detector(detector, threads=threads)
        )
        self.recognizer: Recognizer = (
            recognizer
            if isinstance(recognizer, Recognizer)
            else load_recognizer(recognizer, threads=threads, second_look_below=second_look_below)
        )
        self.preprocess = preprocess
        self.dpi = dpi
        self.max_pixels = max_pixels
        self.min_confidence = min_confidence
        self.orientation = orientation
        self.fit_boxes = fit_boxes
        self.trim_crops = trim_crops

    def read(
        self,
        source: ImageSource,
        *,
        pages: Iterable[int] | None = None,
        on_page: Callable[[Any, Page], None] | None = None,
        **load_options: Any,
    ) -> Document:
        """Read the pages of an image or PDF (path, bytes, numpy array or PIL image) one at a time.

        Each page image is loaded, read and let go before the next is loaded, so memory stays flat in the
        page count. ``pages`` picks 0-based page indices; ``on_page(page_image, page)`` is called with
        each loaded ``textlens.io.PageImage`` and its reading, for callers that write as they go (the page
        images are not kept). Other options (``max_pages``, ``pdf_timeout``, ``pdf_memory_mb``) go to
        :func:`textlens.io.iter_pages`.
        """
        from textlens.io import iter_pages

        options: dict[str, Any] = {"dpi": self.dpi, "pages": pages, **load_options}
        if self.max_pixels is not None:
            options["max_pixels"] = self.max_pixels
        started = time.perf_counter()
        read: list[Page] = []
        for page_image in iter_pages(source, **options):
            image, index = page_image.image, page_image.index
            page = self.read_page(image, index=index, source=page_image.source, dpi=page_image.dpi)
            if on_page is not None:
                on_page(page_image, page)
            read.append(page)
            del page_image, image  # let go of the pixels before the next page is loaded
        return Document(pages=tuple(read), metadata=self._metadata(started))

    def read_pages(self, pages: Sequence[Any]) -> Document:
        """Read already-loaded pages (``textlens.io.PageImage`` objects: image, index, source, dpi)."""
        started = time.perf_counter()
        read = [self.read_page(p.image, index=p.index, source=p.source, dpi=p.dpi) for p in pages]
        return Document(pages=tuple(read), metadata=self._metadata(started))

    def _metadata(self, started: float) -> dict[str, Any]:
        return {
            "engine": "textlens",
            "detector": getattr(self.detector, "name", str(self.detector)),
            "recognizer": getattr(self.recognizer, "name", str(self.recognizer)),
            "seconds": round(time.perf_counter() - started, 4),
        }

    def read_page(self, image: np.ndarray, index: int = 0, source: str | None = None, dpi: float | None = None) -> Page:
        """Read one RGB uint8 page image (turned upright first when ``orientation`` is on)."""
        rotation, detections = 0, None
        if self.orientation:
            rotation, detections = self.page_rotation(image)
            if rotation:
                image, detections = rotate_image(image, rotation), None
        height, width = image.shape[:2]
        work, back = image, None
        if self.preprocess is not None:
            work, back = self._apply_preprocess(image)
            detections = None  # found on the raw page; the preprocessed one may be warped
        if detections is None:
            detections = self.detector.detect(work)
        regions = self.read_region_words(work, detections)
        if back is not None:
            regions = [[_map_word(w, back) for w in words] for words in regions]
        meta = {"index": index, "source": source, "dpi": dpi, "rotation": rotation}
        if getattr(self.detector, "level", "word") == "line":
            # A line detector's regions are the lines: regrouping their words by height would join a
            # receipt's label and amount, which the detector kept apart.
            joined = [tuple(word for i in group for word in regions[i]) for group in _line_groups(detections)]
            lines = [Line(words=words) for words in joined if words]
            return Page.from_lines(lines, width=width, height=height, **meta)
        words = [w for region in regions for w in region]
        region_index = [i for i, region in enumerate(regions) for _ in region]
        return Page.from_words(words, width=width, height=height, regions=region_index, gap_factor=WORD_BOX_GAP, **meta)

    def page_rotation(self, image: np.ndarray) -> tuple[int, list[Detection] | None]:
        """Clockwise degrees (0, 90, 180, 270) that turn the page's text upright, and the detections of the
        page as given when it needs no turn.

        Sideways: text regions of an upright page are wide; when under half of them are (or there are fewer
        than two regions), the page turned by 90° is tried and kept if at least half of its regions, at least
        two, and a larger share than before, are wide.
        Upside down: the recogniser reads the widest regions of typical height as they are and turned by 180°;
        the turn wins when its mean confidence is at least 0.6 and 0.1 above the upright reading's (text upside
        down reads as low-confidence noise).
        """
        detections = self.detector.detect(image)
        rotation, work = 0, image
        wide = _wide_regions(detections)
        # A neural detector may find next to nothing on sideways text (db_fast: one region on a FUNSD page
        # turned by 90°), so one or no region is also a reason to try the turn.
        if len(detections) < 2 or len(wide) < 0.5 * len(detections):
            turned = rotate_image(image, 90)
            turned_detections = self.detector.detect(turned)
            turned_wide = len(_wide_regions(turned_detections))
            # A larger share of wide regions than before (compared without dividing; any share beats none).
            larger_share = not detections or turned_wide * len(detections) > len(wide) * len(turned_detections)
            if turned_wide >= max(2, 0.5 * len(turned_detections)) and larger_share:
                rotation, work, detections, wide = 90, turned, turned_detections, _wide_regions(turned_detections)
        sample = _orientation_sample(wide or detections)
        if sample and self._reads_better_turned([_centre_window(crop_quad(work, d.polygon)[0]) for d in sample]):
            rotation = (rotation + 180) % 360
        return rotation, (detections if rotation == 0 else None)

    def _reads_better_turned(self, crops: Sequence[np.ndarray]) -> bool:
        """Whether these crops, turned by 180°, read clearly better (the rules of ``page_rotation``).

        Only readings of at least ORIENTATION_MIN_CHARS characters (either way up) vote: a receipt's
        dashed separators read as nothing, with high confidence both ways, and once outvoted the text.
        """
        upright = self.recognizer.recognize(crops)
        texts = [i for i, r in enumerate(upright) if len(r.text.strip()) >= ORIENTATION_MIN_CHARS]
        if texts and np.mean([upright[i].confidence for i in texts]) >= UPRIGHT_CONFIDENCE:
            return False
        turned = self.recognizer.recognize([np.ascontiguousarray(c[::-1, ::-1]) for c in crops])
        voters = [
            i
            for i in range(len(crops))
            if max(len(upright[i].text.strip()), len(turned[i].text.strip())) >= ORIENTATION_MIN_CHARS
        ]
        if not voters:
            return False
        upright_mean = float(np.mean([upright[i].confidence for i in voters]))
        turned_mean = float(np.mean([turned[i].confidence for i in voters]))
        return turned_mean >= FLIP_MIN_CONFIDENCE and turned_mean > upright_mean + FLIP_MARGIN

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
        # The recogniser reads a crop trimmed to its ink rows (loose frames turn lower case into capitals);
        # boxes and word cuts keep the detected quad (trimming rows leaves the x axis as it is).
        reads = [trim_rows_to_ink(c) for c in crops] if self.trim_crops else crops
        results = list(self.recognizer.recognize(reads)) if reads else []
        turns = [0] * len(results)  # clockwise, in quarter turns: each region's text against its crop
        if self.orientation:
            for i in self._upside_down(reads, results, detections):
                turns[i] = 2  # the crop's top-left is the region's bottom-right
        for i, result in enumerate(results):
            # Vertical text is read turned (Recognition.turned_cw, of the crop as read: after a 180° flip).
            turns[i] += result.turned_cw // 90
            if turns[i] % 4:  # the quad then starts at the text's own top-left corner
                quads[i] = np.roll(quads[i], turns[i], axis=0)
        keep = self._kept_regions(detections, results, crops)
        regions = [
            split_into_words(result, quad) if kept else []
            for result, quad, kept in zip(results, quads, keep, strict=True)
        ]
        if any(regions):
            gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
            if self.fit_boxes:
                regions = [[fit_to_ink(gray, w) for w in words] for words in regions]
            regions = settle_lone_letter_case(gray, regions)
        return regions

    def _kept(self, confidence: float, width: float, height: float) -> bool:
        """Whether a reading is confident enough to keep (see the class docstring)."""
        if confidence < self.min_confidence:
            return False
        if self.min_confidence > 0 and width < SHORT_REGION_ASPECT * height:
            return confidence >= SHORT_REGION_CONFIDENCE
        return True

    def _kept_regions(
        self, detections: Sequence[Detection], results: Sequence[Recognition], crops: Sequence[np.ndarray]
    ) -> list[bool]:
        """Per region, whether to keep it; regions of one line (``Detection.line``) are judged together,
        by their characters' mean confidence and the line's extent, so a line keeps its short fields."""
        keep = [self._kept(r.confidence, *_text_extent(r, c)) for r, c in zip(results, crops, strict=True)]
        for indices in _line_groups(detections):
            if len(indices) < 2:
                continue
            confidence = _text_weighted_confidence([results[i] for i in indices])
            boxes = np.array([detections[i].box for i in indices])
            width = float(boxes[:, 2].max() - boxes[:, 0].min())
            height = float(np.median(boxes[:, 3] - boxes[:, 1]))
            kept = self._kept(confidence, width, height)
            for i in indices:
                keep[i] = kept
        return keep

    def _upside_down(
        self, crops: Sequence[np.ndarray], results: list[Recognition], detections: Sequence[Detection]
    ) -> list[int]:
        """Indices of the regions that read clearly better turned by 180°; their results are replaced.

        A row of text is judged as one: a line region, or the word regions a word detector found along
        one row (an upside-down line reads as several short words, none long enough alone).
        """
        doubtful = []
        for row in _rows(detections):
            boxes = np.array([detections[i].box for i in row])
            width = float(boxes[:, 2].max() - boxes[:, 0].min())
            height = float(np.median([crops[i].shape[0] for i in row]))
            upright = _text_weighted_confidence([results[i] for i in row])
            if upright < LINE_FLIP_BELOW and width >= LINE_FLIP_MIN_ASPECT * height:
                doubtful.append(row)
        if not doubtful:
            return []
        indices = [i for row in doubtful for i in row]
        turned = self.recognizer.recognize([np.ascontiguousarray(crops[i][::-1, ::-1]) for i in indices])
        turned_of = dict(zip(indices, turned, strict=True))
        flipped = []
        for row in doubtful:
            before = _text_weighted_confidence([results[i] for i in row])
            after = _text_weighted_confidence([turned_of[i] for i in row])
            if after >= LINE_FLIP_MIN_CONFIDENCE and after > before + FLIP_MARGIN:
                for i in row:
                    results[i] = turned_of[i]
                    flipped.append(i)
        return flipped

    def _apply_preprocess(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        assert self.preprocess is not None
        out = self.preprocess(image)
        processed = getattr(out, "image", out)
        matrix = getattr(out, "transform", None)
        if processed.ndim == 2:
            processed = cv2.cvtColor(processed, cv2.COLOR_GRAY2RGB)
        back = None if matrix is None else np.linalg.inv(np.asarray(matrix, dtype=np.float64))
        return processed, back


def _line_groups(detections: Sequence[Detection]) -> list[list[int]]:
    """The region indices of each line, left to right: regions sharing a ``Detection.line``, others alone."""
    groups: dict[tuple[str, int], list[int]] = {}
    for index, det in enumerate(detections):
        key = ("line", det.line) if det.line is not None else ("region", index)
        groups.setdefault(key, []).append(index)
    return [sorted(members, key=lambda i: detections[i].box[0]) for members in groups.values()]


def _text_extent(result: Recognition, crop: np.ndarray) -> tuple[int, int]:
    """(width, height) of a crop along its text: a crop read turned by 90° or 270° holds vertical text."""
    height, width = crop.shape[:2]
    return (height, width) if result.turned_cw % 180 else (width, height)


def _text_weighted_confidence(results: Sequence[Recognition]) -> float:
    """Mean confidence of several readings, each weighted by its length: a row's characters, equally."""
    return float(np.average([r.confidence for r in results], weights=[max(len(r.text), 1) for r in results]))


ROW_OVERLAP = 0.5  # vertical overlap, × the shorter height, of two word regions in one row
ROW_GAP = 1.0  # largest gap, × the taller height, between neighbouring word regions of one row


def _rows(detections: Sequence[Detection]) -> list[list[int]]:
    """Region indices of each row of text, left to right: a line detector's lines (``Detection.line``);
    word regions chained while each overlaps the row's last vertically and stands close after it."""
    if any(d.line is not None for d in detections):
        return _line_groups(detections)
    rows: list[list[int]] = []
    for i in sorted(range(len(detections)), key=lambda i: detections[i].box[0]):
        box = detections[i].box
        for row in rows:
            last = detections[row[-1]].box
            taller = max(box[3] - box[1], last[3] - last[1])
            if vertical_overlap(box, last) >= ROW_OVERLAP and -0.5 * taller <= box[0] - last[2] <= ROW_GAP * taller:
                row.append(i)
                break
        else:
            rows.append([i])
    return rows


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
