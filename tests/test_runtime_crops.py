"""trim_rows_to_ink: the recogniser's crop loses empty rows above and below the text, and nothing else."""

from __future__ import annotations

import numpy as np
import pytest

from textlens.runtime.crops import trim_rows_to_ink


def _line(height: int, ink_rows: tuple[int, int], light_text: bool = False) -> np.ndarray:
    ground, ink = (30, 230) if light_text else (235, 20)
    crop = np.full((height, 120, 3), ground, np.uint8)
    top, bottom = ink_rows
    for x in range(5, 115, 9):  # letter-like blocks with gaps between them
        crop[top:bottom, x : x + 5] = ink
    return crop


@pytest.mark.parametrize("light_text", [False, True])
def test_loose_frame_is_cut_to_the_ink_plus_margin(light_text: bool) -> None:
    crop = _line(60, (20, 40), light_text)
    trimmed = trim_rows_to_ink(crop, margin=0.15)
    assert trimmed.shape == (26, 120, 3)  # 20 ink rows + 3 above + 3 below
    assert np.array_equal(trimmed, crop[17:43])


def test_tight_flat_and_tiny_crops_are_kept() -> None:
    tight = _line(24, (2, 22))
    assert trim_rows_to_ink(tight) is tight
    flat = np.full((40, 100), 200, np.uint8)
    assert trim_rows_to_ink(flat) is flat
    tiny = _line(6, (2, 4))
    assert trim_rows_to_ink(tiny) is tiny


def test_faint_specks_do_not_hold_the_frame_open() -> None:
    crop = _line(60, (20, 40))
    crop[2, 60] = 20  # one dark pixel far above the text: under 3 % of the fullest row's ink
    assert trim_rows_to_ink(crop, margin=0.15).shape[0] == 26
