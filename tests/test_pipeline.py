"""The OCR pipeline's mechanics: rectifying crops, splitting lines into words, building the Document."""

from __future__ import annotations

import numpy as np
import pytest

from tests.fakes import InkBlobDetector, WidthRecognizer
from textlens.geometry import order_quad
from textlens.pipeline import OCR
from textlens.runtime.base import Detection, Recognition
from textlens.runtime.crops import crop_quad
from textlens.runtime.words import split_into_words


def test_order_quad_starts_top_left_and_goes_clockwise() -> None:
    shuffled = np.array([[10, 50], [100, 10], [10, 10], [100, 50]], dtype=np.float32)
    assert order_quad(shuffled).tolist() == [[10, 10], [100, 10], [100, 50], [10, 50]]


def test_crop_quad_rectifies_a_rotated_region() -> None:
    image = np.zeros((200, 200, 3), dtype=np.uint8)
    # A 100×20 bright bar rotated by 30° around (100, 100).
    angle = np.deg2rad(30)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    corners = np.array([[-50, -10], [50, -10], [50, 10], [-50, 10]]) @ rot.T + 100
    import cv2

    cv2.fillPoly(image, [corners.astype(np.int32)], (255, 255, 255))
    crop, _ = crop_quad(image, corners)
    assert crop.shape[:2] == (20, 100)
    assert crop[3:-3, 3:-3].mean() > 240


def test_split_into_words_uses_character_positions() -> None:
    quad = np.array([[0, 0], [100, 0], [100, 10], [0, 10]], dtype=np.float32)
    text = "ab cd"
    result = Recognition(
        text=text, confidence=0.9, char_confidences=(1, 1, 0.5, 0.5, 0.5), char_x=(0.05, 0.15, 0.5, 0.85, 0.95)
    )
    first, second = split_into_words(result, quad)
    assert (first.text, second.text) == ("ab", "cd")
    assert first.box[0] == 0 and first.box[2] == pytest.approx(32.5)
    assert second.box[0] == pytest.approx(67.5) and second.box[2] == 100
    assert first.confidence == 1 and second.confidence == 0.5


def test_split_without_positions_shares_the_width_by_characters() -> None:
    quad = np.array([[0, 0], [90, 0], [90, 10], [0, 10]], dtype=np.float32)
    words = split_into_words(Recognition(text="aa bbb", confidence=0.5), quad)
    assert [w.text for w in words] == ["aa", "bbb"]
    assert words[0].box[2] < words[1].box[0]


def test_ocr_reads_a_page_into_a_document_with_fake_models() -> None:
    image = np.full((120, 300, 3), 255, dtype=np.uint8)
    image[20:40, 20:180] = 0
    image[70:90, 20:260] = 0
    ocr = OCR(detector=InkBlobDetector(), recognizer=WidthRecognizer())
    doc = ocr.read(image)
    page = doc.pages[0]
    assert (page.width, page.height) == (300, 120)
    assert [ln.text for ln in page.lines] == ["aaaa bbbb", "aaaaaa bbbbbb"]
    assert doc.metadata["detector"] == "fake-ink-detector"


def test_ocr_maps_boxes_back_through_the_preprocessing_transform() -> None:
    image = np.full((100, 200, 3), 255, dtype=np.uint8)
    image[40:60, 50:150] = 0

    class Shift:
        """A stand-in transform: pads the page by 10 px on the left and top."""

        def __call__(self, img: np.ndarray) -> object:
            out = np.full((img.shape[0] + 10, img.shape[1] + 10, 3), 255, dtype=np.uint8)
            out[10:, 10:] = img
            matrix = np.array([[1, 0, 10], [0, 1, 10], [0, 0, 1]], dtype=np.float64)
            return type("Result", (), {"image": out, "transform": matrix})()

    plain = OCR(detector=InkBlobDetector(), recognizer=WidthRecognizer()).read(image).pages[0]
    shifted = OCR(detector=InkBlobDetector(), recognizer=WidthRecognizer(), preprocess=Shift()).read(image)
    assert [w.text for w in shifted.pages[0].words] == [w.text for w in plain.words]
    for got, want in zip(shifted.pages[0].words, plain.words, strict=True):
        assert got.box == pytest.approx(want.box, abs=1e-6)


def test_detection_box_is_the_polygon_bounds() -> None:
    det = Detection(polygon=np.array([[5, 1], [9, 2], [8, 7], [4, 6]], dtype=np.float32), score=0.5)
    assert det.box == (4, 1, 9, 7)


class _LineDetector(InkBlobDetector):
    level = "line"


class _ConfidenceByWidth(WidthRecognizer):
    """Narrow crops (specks) read with low confidence, like noise does with a real recogniser."""

    def recognize(self, crops):  # type: ignore[no-untyped-def]
        out = super().recognize(crops)
        return [
            Recognition(r.text, 0.2 if c.shape[1] < 40 else 0.9, r.char_confidences, r.char_x)
            for r, c in zip(out, crops, strict=True)
        ]


def _receipt_row() -> np.ndarray:
    image = np.full((120, 400, 3), 255, dtype=np.uint8)
    image[20:40, 20:180] = 0  # a label ...
    image[20:40, 220:320] = 0  # ... and its amount, apart on the same baseline
    image[80:84, 200:206] = 0  # a speck
    return image


def test_a_line_detectors_regions_stay_separate_lines() -> None:
    page = OCR(detector=_LineDetector(), recognizer=WidthRecognizer(), min_confidence=0).read(_receipt_row()).pages[0]
    assert len(page.lines) == 3  # label, amount and speck: not joined because they share a baseline
    assert [len(line.words) for line in page.lines if line.box[1] < 50] == [2, 2]
    # A word-level detector's regions are grouped into lines by the layout analysis instead, which also
    # keeps a label and an amount two heights apart on separate lines.
    grouped = OCR(detector=InkBlobDetector(), recognizer=WidthRecognizer(), min_confidence=0).read(_receipt_row())
    assert len(grouped.pages[0].lines) == 3


def test_regions_read_with_low_confidence_are_dropped() -> None:
    keep_all = OCR(detector=_LineDetector(), recognizer=_ConfidenceByWidth(), min_confidence=0)
    default = OCR(detector=_LineDetector(), recognizer=_ConfidenceByWidth())
    assert len(keep_all.read(_receipt_row()).pages[0].lines) == 3
    lines = default.read(_receipt_row()).pages[0].lines
    assert len(lines) == 2 and all(line.box[1] < 50 for line in lines)


def test_one_or_two_character_regions_need_a_high_confidence() -> None:
    class FixedConfidence(WidthRecognizer):
        def __init__(self, confidence: float) -> None:
            self.confidence = confidence

        def recognize(self, crops):  # type: ignore[no-untyped-def]
            return [
                Recognition(r.text, self.confidence, r.char_confidences, r.char_x) for r in super().recognize(crops)
            ]

    image = np.full((120, 400, 3), 255, dtype=np.uint8)
    image[20:40, 20:180] = 0  # a line of text
    image[80:100, 300:304] = 0  # with the detector's margins about as wide as high: one character

    def regions(confidence: float, **kwargs: float) -> int:
        ocr = OCR(detector=_LineDetector(), recognizer=FixedConfidence(confidence), fit_boxes=False, **kwargs)
        return len(ocr.read(image).pages[0].lines)

    assert regions(0.8) == 1  # the line is kept, the short region needs 0.9
    assert regions(0.95) == 2
    assert regions(0.5) == 0  # under the default minimum of 0.6
    assert regions(0.5, min_confidence=0) == 2  # 0 keeps every region


def test_the_cli_default_minimum_confidence_is_the_pipelines() -> None:
    import inspect

    from textlens.cli.read import ReadOptions, read
    from textlens.pipeline import DEFAULT_MIN_CONFIDENCE

    assert inspect.signature(read).parameters["min_confidence"].default == DEFAULT_MIN_CONFIDENCE
    assert ReadOptions.__dataclass_fields__["min_confidence"].default == DEFAULT_MIN_CONFIDENCE


def test_pages_read_without_the_recognisers_second_look_unless_asked() -> None:
    import inspect

    from textlens.cli.read import ReadOptions, build_ocr, read

    assert OCR(detector=InkBlobDetector(), threads=1).recognizer.second_look_below is None
    assert OCR(detector=InkBlobDetector(), threads=1, second_look_below=0.8).recognizer.second_look_below == 0.8
    assert inspect.signature(read).parameters["second_look_below"].default == 0.0  # 0: off
    options = ReadOptions(formats=("text",), output=None, to_folder=False, second_look_below=0.7)
    assert build_ocr(options).recognizer.second_look_below == 0.7


def test_vertical_text_becomes_a_word_whose_box_starts_at_the_texts_top_left() -> None:
    import cv2

    word = np.full((40, 160, 3), 255, dtype=np.uint8)
    cv2.putText(word, "92039708", (6, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2)
    page = np.full((300, 200, 3), 255, dtype=np.uint8)
    page[50:210, 60:100] = np.rot90(word, 1)  # printed up the page, as document numbers in a margin

    class MarginNumber:
        name = "margin-number"

        def detect(self, image: np.ndarray) -> list[Detection]:
            return [Detection(polygon=np.array([[60, 50], [100, 50], [100, 210], [60, 210]], np.float32), score=1.0)]

    read = OCR(detector=MarginNumber(), threads=1, orientation=False).read_page(page)
    assert [w.text for w in read.words] == ["92039708"]
    x0, y0, x1, y1 = read.words[0].box
    assert 60 <= x0 < x1 <= 100 and 50 <= y0 < y1 <= 210 and y1 - y0 > 3 * (x1 - x0)  # fitted to the ink
    # The text's top-left is its box's bottom-left, and its top-right the box's top-left.
    assert np.allclose(read.words[0].polygon, [(x0, y1), (x0, y0), (x1, y0), (x1, y1)])


def test_regions_of_one_detected_line_become_one_line_and_are_kept_together() -> None:
    class LineGroups(InkBlobDetector):
        level = "line"

        def detect(self, image):  # type: ignore[no-untyped-def]
            found = sorted(super().detect(image), key=lambda d: d.box[0])
            return [Detection(d.polygon, d.score, line=7) for d in found]  # every region on one line

    class ShortReadsUnsure(WidthRecognizer):
        def recognize(self, crops):  # type: ignore[no-untyped-def]
            out = super().recognize(crops)
            return [
                Recognition(r.text, 0.7 if c.shape[1] < 1.5 * c.shape[0] else 0.95, r.char_confidences, r.char_x)
                for r, c in zip(out, crops, strict=True)
            ]

    image = np.full((80, 400, 3), 255, dtype=np.uint8)
    image[20:40, 20:180] = 0
    image[20:40, 240:244] = 0  # a one-character field: alone it would need 0.9 to be kept
    page = OCR(detector=LineGroups(), recognizer=ShortReadsUnsure(), fit_boxes=False).read(image).pages[0]
    assert len(page.lines) == 1
    assert page.lines[0].text == "aaaa bbbb a b"  # left to right, the short field kept with its line


SAMPLE = __import__("pathlib").Path(__file__).resolve().parents[1] / "examples" / "sample.png"


@pytest.mark.parametrize("turn", [90, 180, 270])
def test_sideways_and_upside_down_pages_are_turned_upright(turn: int) -> None:
    from textlens.io import load
    from textlens.pipeline import rotate_image

    upright = load(SAMPLE)[0].image
    ocr = OCR(threads=1)  # the bundled recogniser and detector
    expected = ocr.read_page(upright)
    page = ocr.read_page(rotate_image(upright, turn))
    assert expected.rotation == 0
    assert page.rotation == (360 - turn) % 360
    assert page.text == expected.text and (page.width, page.height) == (expected.width, expected.height)
    assert OCR(threads=1, orientation=False).read_page(rotate_image(upright, turn)).text != expected.text


def test_a_sideways_page_is_turned_when_the_detector_finds_nothing_on_it() -> None:
    from textlens.io import load
    from textlens.pipeline import rotate_image

    upright = load(SAMPLE)[0].image

    class UprightOnly(InkBlobDetector):
        """Finds text only on the page the right way up (or upside down), as a neural map trained on
        horizontal text may: sideways, it finds nothing."""

        def detect(self, image: np.ndarray) -> list[Detection]:
            return super().detect(image) if image.shape == upright.shape else []

    ocr = OCR(detector=UprightOnly(), threads=1)
    assert ocr.detector.detect(rotate_image(upright, 90)) == []
    page = ocr.read_page(rotate_image(upright, 90))
    assert page.rotation == 270
    assert page.text == ocr.read_page(upright).text
    blank = np.full((200, 300, 3), 255, dtype=np.uint8)
    assert ocr.read_page(blank).rotation == 0  # nothing found either way: left as it is


def test_one_upside_down_line_on_an_upright_page_is_read_turned() -> None:
    from textlens.io import load

    image = load(SAMPLE)[0].image.copy()
    ocr = OCR(threads=1)
    upright = ocr.read_page(image)
    line = next(ln for ln in upright.lines if ln.text.lower().startswith("date"))
    x0, y0, x1, y1 = (round(v) for v in line.box)
    x0, y0, x1, y1 = x0 - 6, y0 - 6, x1 + 6, y1 + 6
    image[y0:y1, x0:x1] = image[y0:y1, x0:x1][::-1, ::-1]  # that line alone turned by 180°
    page = ocr.read_page(image)
    assert page.rotation == 0
    turned = next(ln for ln in page.lines if y0 <= (ln.box[1] + ln.box[3]) / 2 <= y1)
    assert turned.text == line.text
    # Its words run right to left on the page, as the turned text reads.
    assert [w.box[0] for w in turned.words] == sorted((w.box[0] for w in turned.words), reverse=True)
    others = [ln.text for ln in page.lines if ln is not turned]
    assert others == [ln.text for ln in upright.lines if ln is not line]
    assert OCR(threads=1, orientation=False).read_page(image).text != upright.text


def test_a_region_is_turned_when_it_reads_clearly_better_so() -> None:
    class DarkerLeftReadsWell(WidthRecognizer):
        """Stands in for text direction: a crop reads well when its left end is darker than its right."""

        def recognize(self, crops):  # type: ignore[no-untyped-def]
            out = super().recognize(crops)
            return [
                Recognition(r.text, 0.95 if c[:, :24].mean() < c[:, -24:].mean() else 0.3, r.char_confidences, r.char_x)
                for r, c in zip(out, crops, strict=True)
            ]

    image = np.full((100, 300, 3), 255, dtype=np.uint8)
    image[20:40, 20:200] = 96
    image[20:40, 20:30] = 0  # reads well as it is
    image[60:80, 20:200] = 96
    image[60:80, 190:200] = 0  # reads well turned by 180°
    page = OCR(detector=_LineDetector(), recognizer=DarkerLeftReadsWell(), fit_boxes=False).read(image).pages[0]
    assert page.rotation == 0 and len(page.lines) == 2
    first, second = (line.words[0] for line in page.lines)
    assert first.polygon is not None and second.polygon is not None
    assert first.polygon[0][0] < first.polygon[1][0]  # as detected: its top edge runs left to right
    assert second.polygon[0][0] > second.polygon[1][0]  # turned: it starts at the region's bottom right
    unturned = OCR(detector=_LineDetector(), recognizer=DarkerLeftReadsWell(), fit_boxes=False, orientation=False)
    assert len(unturned.read(image).pages[0].lines) == 1  # the other reads at 0.3 and is dropped


def test_readings_without_text_do_not_vote_on_page_orientation() -> None:
    class MarkedCrops:
        """Reads a crop by the marker in its top-left pixel: 10 text, 20 a dashed separator (turned crops
        carry the marker bottom-right). Separators read as nothing, more surely the wrong way up."""

        name = "marked-crops"

        def recognize(self, crops):  # type: ignore[no-untyped-def]
            out = []
            for c in crops:
                if c[0, 0, 0] == 10:
                    out.append(Recognition("Total", 0.6))
                elif c[-1, -1, 0] == 10:
                    out.append(Recognition("lelol", 0.45))
                else:
                    out.append(Recognition("", 0.5 if c[0, 0, 0] == 20 else 0.95))
            return out

    def crop(marker: int) -> np.ndarray:
        image = np.full((20, 160, 3), 255, dtype=np.uint8)
        image[0, 0] = marker
        return image

    ocr = OCR(detector=InkBlobDetector(), recognizer=MarkedCrops())
    crops = [crop(10)] * 3 + [crop(20)] * 9
    # Counting the separators, the turned reading would win (0.83 against 0.53); the text votes upright.
    assert not ocr._reads_better_turned(crops)
    assert ocr._reads_better_turned([np.ascontiguousarray(c[::-1, ::-1]) for c in crops[:3]])


def test_writers_turn_the_original_image_of_a_turned_page() -> None:
    from textlens.document import Page
    from textlens.io.write._common import page_image_rgb

    original = np.zeros((20, 40, 3), np.uint8)
    original[0, 0] = 255  # top-left of the original
    page = Page(width=20, height=40, blocks=(), rotation=90)  # read after a clockwise quarter turn
    turned = page_image_rgb(page, original)
    assert turned.shape == (40, 20, 3) and turned[0, -1, 0] == 255  # top-left went to the top-right


def test_word_boxes_are_fitted_to_their_ink() -> None:
    from textlens.document import Word
    from textlens.runtime.words import fit_to_ink

    gray = np.full((60, 200), 255, np.uint8)
    gray[20:40, 50:120] = 0  # the word's ink
    loose = Word(text="word", box=(30.0, 10.0, 150.0, 50.0))
    fitted = fit_to_ink(gray, loose, margin_fraction=0.1)
    assert fitted.box == pytest.approx((46.0, 16.0, 124.0, 44.0))  # ink ± 0.1 × the loose box's height
    blank = Word(text="?", box=(150.0, 5.0, 190.0, 15.0))
    assert fit_to_ink(gray, blank) == blank  # no ink: kept as it is
    rotated = Word(text="w", box=(30.0, 10.0, 150.0, 50.0), polygon=((30, 20), (150, 10), (150, 40), (30, 50)))
    assert fit_to_ink(gray, rotated) == rotated  # only axis-aligned words are fitted


@pytest.mark.parametrize("corner", [1, 2, 3])
def test_words_read_turned_keep_their_start_corner_and_are_fitted_along_their_text(corner: int) -> None:
    from textlens.document import Word
    from textlens.runtime.words import fit_to_ink

    gray = np.full((60, 200), 255, np.uint8)
    gray[20:40, 50:120] = 0
    if corner % 2:  # vertical text: the same word standing up the page
        gray = np.ascontiguousarray(gray.T)
    loose = (10.0, 30.0, 50.0, 150.0) if corner % 2 else (30.0, 10.0, 150.0, 50.0)
    x0, y0, x1, y1 = loose
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    word = Word(text="word", box=loose, polygon=tuple(corners[corner:] + corners[:corner]))
    fitted = fit_to_ink(gray, word, margin_fraction=0.1)
    tight = (16.0, 46.0, 44.0, 124.0) if corner % 2 else (46.0, 16.0, 124.0, 44.0)  # the margin runs across
    assert fitted.box == pytest.approx(tight)
    fx0, fy0, fx1, fy1 = fitted.box
    fitted_corners = [(fx0, fy0), (fx1, fy0), (fx1, fy1), (fx0, fy1)]
    assert np.allclose(fitted.polygon, fitted_corners[corner:] + fitted_corners[:corner])


def test_lone_letters_are_cased_by_their_height_against_the_line() -> None:
    from textlens.document import Word
    from textlens.runtime.words import settle_lone_letter_case

    gray = np.full((60, 300), 255, np.uint8)
    gray[10:40, 60:200:4] = 0  # "Notebook": strokes of cap height 30
    gray[18:40, 20:40:4] = 0  # a letter 22 high: x-height, small
    gray[10:40, 220:240:4] = 0  # a letter 30 high: a capital
    words = [
        Word(text="X", box=(15.0, 5.0, 45.0, 45.0)),
        Word(text="Notebook", box=(55.0, 5.0, 205.0, 45.0)),
        Word(text="o", box=(215.0, 5.0, 245.0, 45.0)),
    ]
    settled = settle_lone_letter_case(gray, [words[:2], words[2:]])
    assert [w.text for region in settled for w in region] == ["x", "Notebook", "O"]
    alone = settle_lone_letter_case(gray, [[words[0]]])  # no cap-height word beside it: left as read
    assert alone[0][0].text == "X"
    capitals = [words[0], Word(text="NOTEBOOK", box=words[1].box)]
    assert settle_lone_letter_case(gray, [capitals])[0][0].text == "X"  # a line of capitals keeps its "X"


class _FixedRegions:
    """A word-level detector that finds the same boxes on every page."""

    name = "fixed-regions"

    def __init__(self, *boxes: tuple[float, float, float, float]) -> None:
        self.boxes = boxes

    def detect(self, image: np.ndarray) -> list[Detection]:
        return [
            Detection(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32), 1.0)
            for x0, y0, x1, y1 in self.boxes
        ]


class _ShapeRecorder:
    """Reads every crop as "ab" with a fixed confidence and remembers the crops' shapes."""

    name = "shape-recorder"

    def __init__(self, confidence: float = 0.99) -> None:
        self.confidence = confidence
        self.shapes: list[tuple[int, int]] = []

    def recognize(self, crops):  # type: ignore[no-untyped-def]
        self.shapes += [c.shape[:2] for c in crops]
        return [Recognition("ab", self.confidence, (self.confidence,) * 2, (0.25, 0.75)) for _ in crops]


def _row_page() -> np.ndarray:
    image = np.full((200, 400, 3), 255, dtype=np.uint8)
    image[12:38, 14:106] = 0  # a word as tall as the line
    image[20:38, 124:136] = 0  # "is": x-height ink only, between them
    image[12:38, 154:246] = 0  # another word as tall as the line
    image[140:158, 300:312] = 0  # a short region alone on its row
    return image


def test_a_short_region_beside_others_is_read_from_a_crop_as_tall_as_its_row() -> None:
    recorder = _ShapeRecorder()
    detector = _FixedRegions((10, 10, 110, 40), (120, 18, 140, 40), (150, 10, 250, 40), (296, 138, 316, 160))
    OCR(detector=detector, recognizer=recorder, orientation=False, trim_crops=False).read(_row_page())
    word, short, _, alone = recorder.shapes
    assert word == (30, 100)
    assert short == (30, 20)  # the row's median top and bottom (10-40), not its own 18-40: the x-height shows
    assert alone == (22, 20)  # no row to take the height from: its own frame


def test_a_band_much_taller_than_the_region_is_not_used() -> None:
    recorder = _ShapeRecorder()
    # Beside a heading three times its height the short region keeps its own frame.
    detector = _FixedRegions((10, 0, 110, 66), (120, 40, 140, 62), (150, 0, 250, 66))
    OCR(detector=detector, recognizer=recorder, orientation=False, trim_crops=False).read(_row_page())
    assert recorder.shapes[1] == (22, 20)


@pytest.mark.parametrize(("confidence", "kept"), [(0.87, ["row", "short"]), (0.95, ["row", "short", "alone"])])
def test_short_regions_in_a_row_of_text_are_kept_at_a_lower_confidence_than_alone(
    confidence: float, kept: list[str]
) -> None:
    class RowFirm(_ShapeRecorder):
        """The long word reads firmly; the short regions at ``confidence``."""

        def recognize(self, crops):  # type: ignore[no-untyped-def]
            return [
                Recognition("ab", 0.99 if c.shape[1] > 50 else self.confidence, (0.9, 0.9), (0.25, 0.75)) for c in crops
            ]

    detector = _FixedRegions((10, 10, 110, 40), (120, 18, 140, 40), (150, 10, 250, 40), (296, 138, 316, 160))
    page = (
        OCR(detector=detector, recognizer=RowFirm(confidence), orientation=False, fit_boxes=False)
        .read(_row_page())
        .pages[0]
    )
    names = {10.0: "row", 150.0: "row", 120.0: "short", 296.0: "alone"}
    assert sorted({names[w.box[0]] for w in page.words}) == sorted(kept)


def test_bundled_models_read_short_words_of_clean_print_in_lower_case() -> None:
    """Real models on a rendered line: framed alone, "is" beside "forma" read "1S" (and "IS" beside "use")."""
    import shutil
    import subprocess

    from PIL import Image, ImageDraw, ImageFont

    if shutil.which("fc-match") is None:
        pytest.skip("fontconfig (fc-match) is not installed")
    path = subprocess.run(["fc-match", "-f", "%{file}", "DejaVu Serif"], capture_output=True, text=True).stdout
    if not path.endswith((".ttf", ".otf")):
        pytest.skip("no DejaVu Serif font")
    page = Image.new("RGB", (900, 200), "white")
    ImageDraw.Draw(page).text(
        (20, 100), "A name or a number: el uso o la forma is in use.", font=ImageFont.truetype(path, 36), fill="black"
    )
    text = OCR(threads=1).read(np.asarray(page)).text
    assert "forma is in use" in text


def test_rows_of_word_regions_match_the_plain_rule() -> None:
    """``_rows`` (vectorised over the rows) against the rule written out: each region, left to right, joins the
    first row whose last region it overlaps vertically by half the shorter height and follows closely."""
    from textlens.document import vertical_overlap
    from textlens.pipeline import ROW_GAP, ROW_OVERLAP, _rows

    def plain(detections: list[Detection]) -> list[list[int]]:
        rows: list[list[int]] = []
        boxes = [d.box for d in detections]
        for i in sorted(range(len(detections)), key=lambda i: boxes[i][0]):
            box = boxes[i]
            for row in rows:
                last = boxes[row[-1]]
                taller = max(box[3] - box[1], last[3] - last[1])
                if vertical_overlap(box, last) >= ROW_OVERLAP and -0.5 * taller <= box[0] - last[2] <= ROW_GAP * taller:
                    row.append(i)
                    break
            else:
                rows.append([i])
        return rows

    rng = np.random.default_rng(7)
    for _ in range(60):
        detections = []
        for _ in range(int(rng.integers(0, 60))):
            x, y = rng.integers(0, 400, 2).astype(float)
            w, h = rng.integers(1, 50, 2).astype(float)
            quad = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32)
            detections.append(Detection(polygon=quad, score=1.0))
        assert _rows(detections) == plain(detections)
    assert _rows([]) == []
