"""The classical line detector ``morph_lines``: chosen by name for clean printed documents, and the fallback when
no bundled detector is marked default (``db_fast`` is)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from textlens.runtime.classic import MorphologyDetector
from textlens.runtime.loading import load_detector


def render(lines: list[tuple[int, int, str]], size: tuple[int, int] = (700, 400), invert: bool = False) -> np.ndarray:
    path = subprocess.run(["fc-match", "-f", "%{file}", "DejaVu Sans"], capture_output=True, text=True).stdout
    font = ImageFont.truetype(path, 24) if path.endswith((".ttf", ".otf")) else ImageFont.load_default(24)
    page = Image.new("RGB", size, "black" if invert else "white")
    draw = ImageDraw.Draw(page)
    for x, y, text in lines:
        draw.text((x, y), text, fill="white" if invert else "black", font=font)
    return np.asarray(page)


def test_finds_each_line_and_splits_table_columns() -> None:
    image = render(
        [
            (40, 30, "Invoice: 2041, paid."),
            (40, 90, "Notebook A5"),
            (400, 90, "7.90"),
            (40, 150, "Thank you for your order!"),
        ]
    )
    boxes = sorted((d.box for d in MorphologyDetector().detect(image)), key=lambda b: (b[1], b[0]))
    assert len(boxes) == 4
    assert boxes[0][0] <= 40 and boxes[0][1] <= 34 and boxes[0][3] >= 52  # the first line, colon included
    assert boxes[1][2] < 300 and boxes[2][0] > 380  # the price is its own region, apart from its label


def test_light_text_on_dark_background_is_found() -> None:
    image = render([(40, 30, "Exit only"), (40, 120, "Level 2")], invert=True)
    assert len(MorphologyDetector().detect(image)) == 2


def test_blank_page_has_no_text() -> None:
    assert MorphologyDetector().detect(np.full((200, 300, 3), 255, dtype=np.uint8)) == []


def test_is_the_fallback_when_no_bundled_detector_is_marked_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("textlens.runtime.loading.available_models", lambda family=None: [])
    assert load_detector().name == "morph_lines"
    assert isinstance(load_detector("morph_lines"), MorphologyDetector)


def test_a_bundled_detector_replaces_it_only_when_marked_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = tmp_path / "db_candidate"
    folder.mkdir()
    (folder / "model.onnx").write_bytes(b"not opened here")
    config = {"name": "db_candidate", "family": "detection"}
    (folder / "config.json").write_text(json.dumps(config))
    monkeypatch.setattr("textlens.models.bundle.WEIGHTS_ROOT", tmp_path)
    monkeypatch.setattr("textlens.runtime.loading._open", lambda name, family, **options: f"opened {name}")
    assert load_detector().name == "morph_lines"  # bundled, not marked default: used only by name
    assert load_detector("db_candidate") == "opened db_candidate"
    (folder / "config.json").write_text(json.dumps({**config, "default": True}))
    assert load_detector() == "opened db_candidate"


def test_form_rules_are_not_text_and_do_not_swell_the_line_above() -> None:
    image = render([(40, 40, "Name:"), (40, 140, "Date:")]).copy()
    image[60:62, 30:640] = 0  # a form's blank, touching the baseline of the field name
    image[200:380, 660:662] = 0  # a table border
    boxes = sorted((d.box for d in MorphologyDetector().detect(image)), key=lambda b: (b[1], b[0]))
    assert len(boxes) == 2
    assert boxes[0][2] < 200 and boxes[0][3] - boxes[0][1] < 45  # "Name:" alone, not its underline
    kept = sorted((d.box for d in MorphologyDetector(rule_length=0).detect(image)), key=lambda b: (b[1], b[0]))
    assert kept[0][2] > 600  # without rule removal the field name's region runs along its rule


def test_fields_a_little_apart_are_separate_regions_of_one_line() -> None:
    detector = MorphologyDetector()
    probe = render([(40, 40, "19/10/2018")])
    height = detector.character_height(detector.ink_mask(probe))
    ink_columns = np.flatnonzero((probe < 128).any(axis=(0, 2)))
    first_end = int(ink_columns.max())
    # The second field 1.35 character heights after the first (between gap and line_gap), the third far off.
    second_x = first_end + round(1.35 * height)
    image = render([(40, 40, "19/10/2018"), (second_x, 40, "20:49"), (second_x + 260, 40, "#01")])
    found = sorted(detector.detect(image), key=lambda d: d.box[0])
    assert len(found) == 3
    assert found[0].line is not None and found[0].line == found[1].line != found[2].line
    assert all(d.line is None for d in MorphologyDetector(line_gap=0).detect(image))
