"""Curved and vertical text: curved DB regions keep a polygon and are read rectified; turned and stacked words read."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.curved_text import arc_page, stacked_word_page, straight_page, turned_word_page
from textlens.document import Document
from textlens.eval.text import edit_distance
from textlens.io.write import alto, hocr
from textlens.runtime.curved import band_points, band_span, curve_band, rectify_band
from textlens.runtime.postprocess import db_postprocess, exact_unclip_distance
from textlens.runtime.vertical import stacked_columns


def _arc_map(size: tuple[int, int] = (400, 640), radius: float = 200.0, thickness: int = 6) -> np.ndarray:
    """A DB probability map with one kernel bent along the top of a circle (an arched word's shrunk band)."""
    prob = np.zeros(size, np.float32)
    cv2.ellipse(prob, (320, 300), (int(radius), int(radius)), 0, 215, 325, 1.0, thickness)
    return prob


def test_an_arched_kernel_keeps_a_polygon_of_more_than_four_points() -> None:
    (det,) = db_postprocess(_arc_map())
    assert det.polygon.shape == (4, 2)  # the quad stays, for everything that wants one
    assert det.curve is not None and det.curve.shape == (16, 2)
    top, bottom = band_points(det.curve)
    assert np.all(np.diff(top[:, 0]) > 0)  # the top edge runs left to right
    # The band follows the arc: its middle is higher than its ends (an arch), and each pair stands a word apart.
    centre = (top + bottom) / 2
    assert centre[len(centre) // 2 - 1, 1] < centre[0, 1] - 30
    heights = np.linalg.norm(bottom - top, axis=1)
    assert np.ptp(heights) < 0.2 * heights.mean() and 20 < heights.mean() < 60
    # The band's centre line lies on the circle the kernel was drawn on (its ends go on along the tangent).
    radii = np.linalg.norm(centre - [320, 300], axis=1)
    assert np.all(np.abs(radii[1:-1] - 200) < 3) and np.all(np.abs(radii - 200) < 10)


def test_straight_and_tilted_kernels_stay_quads() -> None:
    prob = np.zeros((300, 600), np.float32)
    cv2.rectangle(prob, (50, 40), (400, 60), 1.0, -1)
    box = cv2.boxPoints(((300, 200), (300, 20), -20)).astype(np.int32)
    cv2.fillPoly(prob, [box], 1.0)
    found = db_postprocess(prob)
    assert len(found) == 2 and all(d.curve is None for d in found)
    assert curve_band(np.array([[0, 0], [100, 0], [100, 10], [0, 10]]), exact_unclip_distance, 0.4) is None


def test_rectifying_a_band_straightens_an_arc_of_stripes() -> None:
    # Radial stripes around a circle come out as vertical stripes of the strip.
    image = np.full((400, 640, 3), 255, np.uint8)
    for degrees in range(200, 341, 10):
        a = np.radians(degrees)
        p0 = (int(320 + 180 * np.cos(a)), int(300 + 180 * np.sin(a)))
        p1 = (int(320 + 230 * np.cos(a)), int(300 + 230 * np.sin(a)))
        cv2.line(image, p0, p1, (0, 0, 0), 3)
    angles = np.radians(np.linspace(210, 330, 8))
    top = np.stack([320 + 225 * np.cos(angles), 300 + 225 * np.sin(angles)], 1)
    bottom = np.stack([320 + 185 * np.cos(angles), 300 + 185 * np.sin(angles)], 1)
    band = np.concatenate([top, bottom[::-1]]).astype(np.float32)
    strip = rectify_band(image, band)
    assert strip.shape[0] == 40 and strip.shape[1] > 250
    columns = (strip.mean(axis=2) < 128).mean(axis=0)
    assert (columns > 0.9).sum() >= 10  # each stripe crosses the strip from top to bottom
    # A word's span of the band: 4 points along the top, 4 along the bottom, inside the band's box.
    span = np.asarray(band_span(band, 0.25, 0.5))
    assert span.shape == (8, 2) and span[:, 0].min() > top[:, 0].min() and span[:, 0].max() < top[:, 0].max()


@pytest.fixture(scope="module")
def ocr():
    from textlens.pipeline import OCR

    return OCR(threads=1)


def cer(text: str, truth: str) -> float:
    return edit_distance(text, truth) / len(truth)


def _words(page):
    return [w for block in page.blocks for line in block.lines for w in line.words]


@pytest.mark.parametrize("upward", [True, False], ids=["arch", "smile"])
def test_an_arched_word_reads_rectified_with_a_polygon(ocr, upward: bool) -> None:
    image = arc_page("BAKERY", upward=upward)
    if image is None:
        pytest.skip("no DejaVu Sans Bold font")
    page = ocr.read_page(image)
    words = _words(page)
    assert len(words) == 1
    (word,) = words
    assert cer(word.text, "BAKERY") <= 1 / 6
    assert word.polygon is not None and len(word.polygon) > 4
    # The polygon follows the arc: its top edge's middle is higher (arch) or lower (smile) than its ends.
    top = np.asarray(word.polygon[: len(word.polygon) // 2])
    middle = top[len(top) // 2, 1]
    assert (middle < min(top[0, 1], top[-1, 1]) - 10) if upward else (middle > max(top[0, 1], top[-1, 1]) + 10)
    # JSON, hOCR and ALTO carry it.
    data = Document(pages=(page,)).to_dict()
    assert len(data["pages"][0]["blocks"][0]["lines"][0]["words"][0]["polygon"]) == len(word.polygon)
    assert "; poly " in hocr.render(Document(pages=(page,)))
    written = alto.render(Document(pages=(page,)))
    points = written.split('<Polygon POINTS="')[1].split('"')[0].split()
    assert "<Shape>" in written and len(points) == len(word.polygon)


def test_a_straight_word_keeps_its_quad(ocr) -> None:
    image = straight_page("BAKERY")
    if image is None:
        pytest.skip("no DejaVu Sans Bold font")
    assert all(d.curve is None for d in ocr.detect(image))
    (word,) = _words(ocr.read_page(image))
    assert word.text == "BAKERY" and len(word.polygon) == 4


@pytest.mark.parametrize("clockwise", [True, False], ids=["down", "up"])
def test_a_lone_word_turned_by_90_degrees_reads(ocr, clockwise: bool) -> None:
    image = turned_word_page("HOTEL", clockwise=clockwise)
    if image is None:
        pytest.skip("no DejaVu Sans Bold font")
    page = ocr.read_page(image)
    assert [w.text for w in _words(page)] == ["HOTEL"]
    assert page.rotation == (270 if clockwise else 90)  # the page turned upright: against the text's turn


@pytest.mark.parametrize("text", ["HOTEL", "PHARMACY"])
def test_stacked_upright_letters_read_as_one_word(ocr, text: str) -> None:
    image = stacked_word_page(text, size=44)
    if image is None:
        pytest.skip("no DejaVu Sans Bold font")
    (column,) = stacked_columns(image)
    assert len(column) == len(text)
    page = ocr.read_page(image)
    words = _words(page)
    assert page.rotation == 0 and len(words) == 1
    assert cer(words[0].text, text) <= 1 / len(text)
    x0, y0, x1, y1 = words[0].box
    assert y1 - y0 > 3 * (x1 - x0)  # the word's box is the column


def test_lines_of_print_hold_no_stacked_column() -> None:
    image = straight_page("BAKERY")
    if image is None:
        pytest.skip("no DejaVu Sans Bold font")
    rows = np.concatenate([image] * 4, axis=0)  # the same word on four rows: initials stacked, with letters beside
    assert stacked_columns(rows) == []
