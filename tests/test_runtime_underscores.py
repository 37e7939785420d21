"""Words split at underscores are joined again; spaces, hyphens and underlines keep words apart."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from textlens.runtime.base import Detection
from textlens.runtime.underscores import join_underscored, underscore_between

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
SIZE = 40


def _render(parts: list[str], joiner: str, underline: bool = False) -> tuple[np.ndarray, list[Detection]]:
    """A line of ``parts`` joined by ``joiner`` and the boxes a word detector gives the parts (a 0.1 × height
    margin each, as db_fast's regions carry), never around the joiner."""
    if not FONT.exists():
        pytest.skip("DejaVu Sans is not installed")
    font = ImageFont.truetype(str(FONT), SIZE)
    image = Image.new("L", (60 + 40 * SIZE, 3 * SIZE), 255)
    draw = ImageDraw.Draw(image)
    x, y = 30.0, SIZE * 0.8
    detections = []
    for k, part in enumerate(parts):
        left, top, right, bottom = draw.textbbox((x, y), part, font=font)
        draw.text((x, y), part, font=font, fill=0)
        margin = 0.1 * (bottom - top)
        box = (left - margin, top - margin, right + margin, bottom + margin)
        detections.append(
            Detection(
                polygon=np.array([[box[0], box[1]], [box[2], box[1]], [box[2], box[3]], [box[0], box[3]]], "float32"),
                score=0.7,
            )
        )
        x += draw.textlength(part, font=font)
        if k < len(parts) - 1:
            draw.text((x, y), joiner, font=font, fill=0)
            x += draw.textlength(joiner, font=font)
    if underline:
        base = y + font.getmetrics()[0] + 4
        draw.line([(30, base), (x, base)], fill=0, width=2)
    return np.asarray(image), detections


def test_an_identifier_split_at_underscores_becomes_one_region() -> None:
    gray, detections = _render(["LIRC", "GET", "REC", "TIMEOUT"], "_")
    joined = join_underscored(gray, detections)
    assert len(joined) == 1
    box = joined[0].box
    assert box[0] == pytest.approx(detections[0].box[0]) and box[2] == pytest.approx(detections[-1].box[2])


@pytest.mark.parametrize("joiner", [" ", "-", " - ", "  "])
def test_spaces_and_hyphens_keep_words_apart(joiner: str) -> None:
    gray, detections = _render(["uint64", "t"] if joiner != " - " else ["see", "also"], joiner)
    assert not underscore_between(gray, detections[0], detections[1])
    assert len(join_underscored(gray, detections)) == 2


def test_an_underline_under_whole_words_is_not_an_underscore() -> None:
    gray, detections = _render(["read", "the", "manual", "carefully"], " ", underline=True)
    assert len(join_underscored(gray, detections)) == 4


def test_light_text_on_dark_is_joined_too() -> None:
    gray, detections = _render(["GRND", "RANDOM"], "_")
    assert len(join_underscored(255 - gray, detections)) == 1


def test_a_space_read_at_an_underscore_becomes_one_and_a_dropped_one_comes_back() -> None:
    from textlens.runtime.base import Recognition
    from textlens.runtime.underscores import keep_underscores

    text = "LIRC GET_ REC"
    xs = tuple((i + 0.5) / len(text) for i in range(len(text)))
    read = Recognition(text=text, confidence=0.9, char_confidences=(0.9,) * len(text), char_x=xs)
    # gaps at the space after LIRC (index 4), at "_ " (indexes 8-9), and one inside "REC" that is not a gap
    fixed = keep_underscores(read, (xs[4], (xs[8] + xs[9]) / 2))
    assert fixed.text == "LIRC_GET_REC"
    assert len(fixed.char_x) == len(fixed.text) == len(fixed.char_confidences)
    dropped = Recognition(text="uint64t", confidence=0.9, char_x=tuple((i + 0.5) / 7 for i in range(7)))
    assert keep_underscores(dropped, (6 / 7,)).text == "uint64_t"
    assert keep_underscores(dropped, ()).text == "uint64t"


def test_a_dashed_rule_under_a_table_header_is_not_an_underscore() -> None:
    gray, detections = _render(["Amount", "Tax"], "  ")
    image = gray.copy()
    rule_y = int(detections[0].box[3] + 3)
    for x in range(0, image.shape[1] - 8, 10):  # a dashed rule across the table, as scanned receipts show
        image[rule_y : rule_y + 2, x : x + 7] = 0
    assert len(join_underscored(image, detections)) == 2
