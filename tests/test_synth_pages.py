"""Tests for synthetic pages: every kind renders, boxes lie inside the image, polygons agree with boxes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from shapely.geometry import Polygon

from textlens.data.synth.pages import PAGE_KINDS, PageRenderer
from textlens.errors import ConfigError


@pytest.mark.parametrize("kind", PAGE_KINDS)
def test_pages_have_words_inside_the_image_with_consistent_polygons(kind: str) -> None:
    page = PageRenderer(kind, seed=2).sample_at(0)
    h, w = page.image.shape[:2]
    assert page.image.dtype == np.uint8 and page.image.shape[2] == 3
    assert len(page.words) >= 1
    for word in page.words:
        x0, y0, x1, y1 = word.box
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
        assert word.polygon is not None and len(word.polygon) == 4
        xs, ys = [p[0] for p in word.polygon], [p[1] for p in word.polygon]
        assert (min(xs), min(ys), max(xs), max(ys)) == pytest.approx(word.box, abs=0.02)
        assert Polygon(word.polygon).is_valid
        assert isinstance(word.extra["line"], int)
        assert word.text.strip() == word.text and word.text


def test_words_are_grouped_into_lines() -> None:
    page = PageRenderer("receipt", seed=0).sample_at(1)
    lines: dict[int, list[tuple[float, float, float, float]]] = {}
    for word in page.words:
        lines.setdefault(word.extra["line"], []).append(word.box)
    assert len(lines) >= 5
    assert any(len(v) > 1 for v in lines.values())
    # a line runs left to right and is nearly level, even on a page photographed at an angle
    for boxes in lines.values():
        for a, b in itertools.pairwise(boxes):
            assert a[0] < b[0]
            dy = abs((a[1] + a[3]) / 2 - (b[1] + b[3]) / 2)
            assert dy <= 0.15 * (b[0] - a[0]) + (a[3] - a[1])


def test_pages_are_deterministic_per_seed() -> None:
    a, b = PageRenderer("mixed", seed=5).sample_at(3), PageRenderer("mixed", seed=5).sample_at(3)
    assert np.array_equal(a.image, b.image) and a.words == b.words


def test_ink_lies_under_word_boxes() -> None:
    page = PageRenderer("document", seed=4).sample_at(0)
    grey = page.image.mean(axis=2)
    darker = 0
    for word in page.words[:20]:
        x0, y0, x1, y1 = (int(v) for v in word.box)
        inside = grey[y0:y1, x0:x1]
        darker += inside.min() < np.median(grey) - 40
    assert darker >= 15


def test_unknown_page_kind_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown page kind"):
        PageRenderer("poster")


def test_documents_show_short_tokens_standing_apart_at_line_starts() -> None:
    """Invoice rows ("2 x Notebook  7.90") put one- and two-character tokens first on their line, apart."""
    renderer = PageRenderer("document", seed=5)
    leading_short = 0
    for index in range(8):
        lines: dict[int, list[tuple[str, tuple[float, float, float, float]]]] = {}
        for word in renderer.sample_at(index).words:
            lines.setdefault(word.extra["line"], []).append((word.text, word.box))
        for words in lines.values():
            (first, first_box), *rest = words
            # a gap of more than half the token's height separates it from the next word of the line
            if len(first) <= 2 and rest and rest[0][1][0] - first_box[2] > 0.5 * (first_box[3] - first_box[1]):
                leading_short += 1
    assert leading_short >= 5
