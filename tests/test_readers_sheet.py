"""Contact sheets: grid size, captions in the right script, boxes drawn on pages, atomic writes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFont

from textlens.data.samples import CropSample, LabelSample, PageSample, WordAnnotation
from textlens.data.sheet import caption, contact_sheet, font_for, save_image_atomic

WHITE = np.full((40, 120, 3), 255, np.uint8)


def test_sheet_is_a_grid_of_cells() -> None:
    items = [CropSample(image=WHITE, text=f"w{i}") for i in range(7)]
    sheet = contact_sheet(items, cols=3, cell_width=150)
    assert sheet.dtype == np.uint8 and sheet.shape[1] == 450 and sheet.shape[2] == 3
    one_row = contact_sheet(items[:3], cols=3, cell_width=150)
    assert sheet.shape[0] == 3 * one_row.shape[0]  # 7 items in 3 columns: 3 rows


def test_sheet_draws_captions_below_the_images() -> None:
    sheet = contact_sheet([CropSample(image=WHITE, text="Tiredness")], cols=1, cell_width=200)
    image_height = 200 // 3
    caption_band = sheet[image_height + 8 :, :, :]
    assert (caption_band < 100).any()  # dark text pixels under the crop


def test_page_cells_show_word_boxes_and_dont_care_in_another_colour() -> None:
    page = PageSample(
        image=np.full((200, 200, 3), 255, np.uint8),
        words=(
            WordAnnotation(text="A", box=(20, 20, 100, 60)),
            WordAnnotation(text="###", box=(120, 120, 180, 180), ignore=True),
        ),
    )
    sheet = contact_sheet([page], cols=1, cell_width=212)
    greenish = (sheet[:, :, 1] > 150) & (sheet[:, :, 0] < 60) & (sheet[:, :, 2] < 120)
    reddish = (sheet[:, :, 0] > 180) & (sheet[:, :, 1] < 80)
    assert greenish.any() and reddish.any()
    assert caption(page) == "2 words (1 ignored)"


def test_label_sheet_renders_a_devanagari_caption() -> None:
    sheet = contact_sheet([LabelSample(image=np.zeros((28, 28, 3), np.uint8), label="७")], cols=1)
    assert sheet.shape[0] > 28 and (sheet[-20:] < 100).any()


def test_caption_font_covers_scripts_dejavu_lacks() -> None:
    covering = subprocess.run(
        ["fc-list", ":charset=96d", "file"], capture_output=True, text=True, check=False
    ).stdout.strip()
    if not covering:
        pytest.skip("no installed font covers Devanagari")
    from fontTools.ttLib import TTFont

    font = font_for("७", 14)
    assert isinstance(font, ImageFont.FreeTypeFont)
    with TTFont(font.path, fontNumber=0, lazy=True) as tt:
        assert 0x96D in tt.getBestCmap()


def test_empty_input_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        contact_sheet([])


def test_save_image_atomic_leaves_only_the_final_file(tmp_path: Path) -> None:
    out = save_image_atomic(np.zeros((5, 6, 3), np.uint8), tmp_path / "sub" / "sheet.png")
    assert [p.name for p in out.parent.iterdir()] == ["sheet.png"]
    with Image.open(out) as im:
        assert im.size == (6, 5)
