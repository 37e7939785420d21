"""OnnxDetector: resize policy, post-processing back to page pixels, tiling, loading and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from textlens.errors import ConfigError, CorruptImage
from textlens.runtime.base import Detection, Detector
from textlens.runtime.detector import OnnxDetector, prepare_page, uncovered_ink
from textlens.runtime.loading import load_detector

BARS = [(30, 40, 150, 60), (200, 40, 260, 60), (30, 120, 120, 150)]


class DarkIsText(torch.nn.Module):
    """A stand-in detector whose probability map is 1 on dark pixels: boxes are then known exactly."""

    outputs = ("prob",)
    stride = 1

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"prob": torch.sigmoid(-40.0 * (images.mean(dim=1, keepdim=True) + 0.5))}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from textlens.export.detection import export_detector

    out = tmp_path_factory.mktemp("det")
    export_detector(DarkIsText(), out / "model.onnx")
    config = {
        "name": "dark",
        "family": "detection",
        "arch": "none",
        "model": {},
        "input": {"long_side": 128, "multiple": 32, "mean": [0.5] * 3, "std": [0.5] * 3},
        "postprocess": {
            "method": "db",
            "thresh": 0.3,
            "box_thresh": 0.6,
            "unclip": 0.0,
            "unclip_mode": "ratio",
            "min_size": 2,
        },
        "runtime": "textlens.runtime.detector:OnnxDetector",
    }
    (out / "config.json").write_text(json.dumps(config))
    return out


def page(width: int = 300, height: int = 200, bars: list[tuple[int, int, int, int]] = BARS) -> np.ndarray:
    image = np.full((height, width, 3), 255, np.uint8)
    for x0, y0, x1, y1 in bars:
        cv2.rectangle(image, (x0, y0), (x1 - 1, y1 - 1), (0, 0, 0), -1)
    return image


def test_pages_are_resized_to_the_long_side_and_padded_to_a_multiple_of_32() -> None:
    batch, scale = prepare_page(page(300, 200), {"long_side": 128, "multiple": 32})
    assert batch.shape == (1, 3, 96, 128) and batch.dtype == np.float32
    assert scale == pytest.approx((128 / 300, 85 / 200), rel=1e-3)
    assert np.all(batch[0, :, 85:, :] == 0)  # padding is the mean colour, 0 after normalisation


def test_upscaling_of_small_pages_is_capped() -> None:
    _, scale = prepare_page(page(40, 30, []), {"long_side": 1024, "max_upscale": 2.0})
    assert scale == (2.0, 2.0)


def test_detect_finds_each_word_in_page_pixels(folder: Path) -> None:
    detector = OnnxDetector(folder, threads=1)
    assert isinstance(detector, Detector) and detector.name == "dark"
    found = detector.detect(page())
    assert len(found) == len(BARS)
    for det, bar in zip(found, BARS, strict=True):  # reading order: top row left to right
        np.testing.assert_allclose(det.box, bar, atol=4.0)
        assert det.score > 0.9 and det.polygon.shape == (4, 2)


def test_grey_and_rgba_pages_are_accepted_and_bad_arrays_rejected(folder: Path) -> None:
    detector = OnnxDetector(folder, threads=1)
    grey = cv2.cvtColor(page(), cv2.COLOR_RGB2GRAY)
    assert len(detector.detect(grey)) == len(BARS)
    assert len(detector.detect(np.dstack([page(), np.full((200, 300), 255, np.uint8)]))) == len(BARS)
    with pytest.raises(CorruptImage):
        detector.detect(np.zeros((20, 20, 3), np.float32))


def test_very_large_pages_are_read_in_tiles_without_duplicates(folder: Path) -> None:
    bars = [(40, 40, 200, 80), (600, 300, 760, 340), (100, 900, 300, 940), (380, 500, 560, 540)]
    detector = OnnxDetector(folder, threads=1, long_side=256)
    found = detector.detect(page(800, 1000, bars))  # long side 1000 > 2 × 256: tiled
    assert len(found) == len(bars)
    for bar in bars:
        assert min(np.abs(np.subtract(d.box, bar)).max() for d in found) < 6


def test_load_detector_opens_an_export_folder(folder: Path) -> None:
    detector = load_detector(folder, threads=1)
    assert isinstance(detector, OnnxDetector)


def test_unknown_postprocessing_and_tiny_long_side_are_config_errors(folder: Path, tmp_path: Path) -> None:
    config = json.loads((folder / "config.json").read_text())
    with pytest.raises(ConfigError):
        OnnxDetector(folder, {**config, "postprocess": {"method": "magic"}})
    with pytest.raises(ConfigError):
        OnnxDetector(folder, config, long_side=8)


def test_ink_fill_adds_back_only_the_ink_the_model_left_uncovered(folder: Path) -> None:
    token = (30, 172, 44, 186)  # a lone short token, as "2" before "x Notebook", of the bars' print size
    image = page(300, 220, [*BARS, token])
    strict = {"min_size": 16}  # the map's regions under 16 px a side are dropped, as a weak map drops "2"
    without = OnnxDetector(folder, threads=1, **strict).detect(image)
    assert len(without) == len(BARS)
    found = OnnxDetector(folder, threads=1, ink_fill=True, **strict).detect(image)
    assert len(found) == len(BARS) + 1  # the model's regions are not found twice
    added = [d for d in found if d.box[1] > 160]
    assert len(added) == 1
    x0, y0, x1, y1 = added[0].box
    assert x0 <= token[0] and y0 <= token[1] and x1 >= token[2] - 1 and y1 >= token[3] - 1
    assert found == sorted(found, key=lambda d: (round(d.box[1]), d.box[0]))  # reading order kept


def test_ink_fill_leaves_out_blobs_far_taller_or_smaller_than_the_pages_print() -> None:
    token, logo, speck = (30, 172, 44, 186), (200, 100, 260, 190), (280, 40, 284, 44)
    image = page(300, 220, [*BARS, token, logo, speck])
    regions = [
        Detection(polygon=np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32), score=1.0)
        for x0, y0, x1, y1 in BARS
    ]
    added = uncovered_ink(image, regions)
    assert len(added) == 1  # the token; the logo (4 × the print's height) and the speck are not text
    x0, y0, x1, y1 = added[0].box
    assert x0 <= token[0] and y0 <= token[1] and x1 >= token[2] - 1 and y1 >= token[3] - 1


def test_ink_fill_is_read_from_the_config(folder: Path) -> None:
    config = json.loads((folder / "config.json").read_text())
    assert OnnxDetector(folder, {**config, "ink_fill": True}, threads=1).ink_fill
    assert not OnnxDetector(folder, config, threads=1).ink_fill


def test_normalisation_by_table_is_the_float_formula_bit_for_bit() -> None:
    from textlens.runtime.detector import IMAGENET_MEAN, IMAGENET_STD, normalize

    image = np.random.default_rng(3).integers(0, 256, (45, 70, 3), dtype=np.uint8)
    out = normalize(image, IMAGENET_MEAN, IMAGENET_STD, multiple=32)
    expected = (image.astype(np.float32) * (1.0 / 255.0) - np.asarray(IMAGENET_MEAN, np.float32)) / np.asarray(
        IMAGENET_STD, np.float32
    )
    assert out.shape == (3, 64, 96) and out.dtype == np.float32
    assert np.array_equal(out[:, :45, :70], expected.transpose(2, 0, 1))
    assert not out[:, 45:, :].any() and not out[:, :, 70:].any()  # padding: the mean colour
