"""The evaluation report's pictures: character confusions (table and heatmap) and the worst crops' sheet."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image

from textlens.eval.report import char_confusions, confusion_heatmap, crop_sheet, write_report
from textlens.eval.results import rec_result


def test_char_confusions_count_substitutions_drops_and_additions() -> None:
    counts = char_confusions([("hello", "he1lo"), ("world", "wor1d"), ("cat", "ca"), ("ok", "ok!"), ("same", "same")])
    assert counts[("l", "1")] == 2
    assert counts[("t", "")] == 1 and counts[("", "!")] == 1
    assert sum(counts.values()) == 4


def test_heatmap_has_one_cell_per_character_pair() -> None:
    counts = char_confusions([("lol", "1o1"), ("O", "0")])
    picture = confusion_heatmap(counts, cell=30)
    # rows l, O and columns 1, 0: a 38 px margin, 2 × 30 px cells, 4 px border, a 30 px caption below (the
    # picture is at least as wide as the caption)
    assert picture.shape[0] == 38 + 2 * 30 + 4 + 30 and picture.shape[1] >= 38 + 2 * 30 + 4
    assert tuple(picture[38 + 3, 38 + 30 + 3]) == (248, 248, 248)  # l → 0 never happened: an empty cell
    # the busiest cell (l → 1, twice) is the darkest red
    assert tuple(picture[38 + 3, 38 + 3]) == (255, 55, 35)


def _crops(tmp_path: Path, n: int) -> list[Path]:
    paths = []
    for i in range(n):
        path = tmp_path / f"c{i}.png"
        Image.fromarray(np.full((20, 60 + 10 * i, 3), 30 * i, np.uint8)).save(path)
        paths.append(path)
    return paths


def test_crop_sheet_stacks_the_worst_crops(tmp_path: Path) -> None:
    result = rec_result(_crops(tmp_path, 3), ["abc", "def", "ghi"], ["abc", "dof", "xyz"])
    sheet = crop_sheet(result.misses(), height=40)
    assert sheet.shape[0] == 2 * 46 and sheet.shape[1] > 90  # two misses, 40 px high each plus 6 px between
    assert sheet[3:43, :5].mean() < 255  # the crop is pasted at the left


def test_report_holds_the_confusions_and_the_sheet(tmp_path: Path) -> None:
    result = rec_result(_crops(tmp_path, 4), ["hello", "world", "O", "fine"], ["he1lo", "wor1d", "0", "fine"])
    write_report(tmp_path / "rep", result, "crops")
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "Character confusions" in md and "| `l` | `1` | 2 | 66.7% |" in md
    for name in ("confusions.png", "worst_crops.png"):
        with Image.open(tmp_path / "rep" / "images" / name) as picture:
            assert picture.format == "PNG" and min(picture.size) > 30
    page = (tmp_path / "rep" / "report.html").read_text()
    assert len(re.findall("data:image/png;base64,", page)) == 2 + 3  # heatmap, sheet, three misses
