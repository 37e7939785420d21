"""Detection models: shapes, learning (with the training system's loss), save/load, label generation,
post-processing and ONNX parity."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from textlens.geometry import order_quad, polygon_area
from textlens.models.detection.targets import db_targets, east_targets
from textlens.models.registry import create_model, get_spec, list_models
from textlens.models.serialization import load_weights, save_weights
from textlens.runtime.base import Detection
from textlens.runtime.postprocess import db_postprocess, east_postprocess, merge_line_fragments, nms_quads
from textlens.train.det_loss import detection_loss

DETECTORS = list_models("detection")
RECTS = [(20, 30, 120, 44), (150, 100, 190, 110), (30, 150, 230, 190), (40, 220, 70, 229)]


def rect_quad(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


def text_batch(n: int = 2, size: int = 64, seed: int = 0) -> tuple[torch.Tensor, list[list[np.ndarray]]]:
    """White images with dark bars ("words"), normalised, and the bars' polygons."""
    rng = np.random.default_rng(seed)
    images, polys = [], []
    for _ in range(n):
        img = np.full((size, size, 3), 255, np.uint8)
        boxes = []
        for row in range(3):
            y = 6 + row * 20 + int(rng.integers(0, 4))
            x0 = int(rng.integers(2, 20))
            x1 = x0 + int(rng.integers(16, 40))
            cv2.rectangle(img, (x0, y), (x1, y + 8), (20, 20, 20), -1)
            boxes.append(rect_quad(x0, y, x1 + 1, y + 9))
        images.append((img.astype(np.float32) / 255.0 - 0.5) / 0.5)
        polys.append(boxes)
    return torch.from_numpy(np.stack(images).transpose(0, 3, 1, 2).copy()), polys


def targets_for(model: torch.nn.Module, polys: list[list[np.ndarray]], size: int) -> dict[str, torch.Tensor]:
    maker = east_targets if "geo" in model.outputs else db_targets
    per_image = [maker(p, [False] * len(p), size, size) for p in polys]
    return {k: torch.from_numpy(np.stack([t[k] for t in per_image])) for k in per_image[0]}


def test_the_default_detector_and_east_are_registered_as_detection_models() -> None:
    assert {"db_small", "db_fast", "east_small"} <= set(DETECTORS)
    assert all(get_spec(name).family == "detection" for name in DETECTORS)


def test_an_unknown_detection_backbone_is_a_config_error_naming_the_choices() -> None:
    from textlens.errors import ConfigError

    with pytest.raises(ConfigError, match="dense"):
        create_model("db_small", backbone="resnet50")


@pytest.mark.parametrize("name", DETECTORS)
def test_outputs_have_the_documented_shapes_for_two_input_sizes(name: str) -> None:
    model = create_model(name)
    for height, width in ((64, 96), (128, 64)):
        x = torch.randn(2, 3, height, width)
        model.train()
        out = model(x)
        stride = model.stride
        assert out["prob"].shape == (2, 1, height // stride, width // stride)
        if "geo" in model.outputs:
            assert out["geo"].shape == (2, 5, height // stride, width // stride)
        else:
            assert set(out) == {"prob", "thresh", "binary"}
        model.eval()
        with torch.no_grad():
            out = model(x)
        assert set(out) == set(model.outputs)
        assert float(out["prob"].min()) >= 0.0 and float(out["prob"].max()) <= 1.0


@pytest.mark.parametrize("name", DETECTORS)
def test_loss_falls_on_a_tiny_batch_of_bars(name: str) -> None:
    torch.manual_seed(0)
    model = create_model(name, backbone="tiny", inner=32)
    images, polys = text_batch()
    targets = targets_for(model, polys, images.shape[-1])
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    method = "east" if "geo" in model.outputs else "db"
    losses = []
    for _ in range(30):
        loss = detection_loss(method, model(images), targets)["loss"]
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
    assert np.isfinite(losses).all()
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:3])


@pytest.mark.parametrize("name", DETECTORS)
def test_weights_round_trip_through_safetensors(name: str, tmp_path: Path) -> None:
    model = create_model(name).eval()
    path = tmp_path / "m.safetensors"
    save_weights(model, path)
    again = create_model(name).eval()
    load_weights(again, path)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(model(x)["prob"], again(x)["prob"])


def test_shrunk_text_lies_inside_its_polygon_and_threshold_values_stay_in_range() -> None:
    polys = [rect_quad(*r) for r in RECTS]
    t = db_targets(polys, [False] * len(polys), 256, 256)
    inside = np.zeros((256, 256), np.uint8)
    for p in polys:
        cv2.fillPoly(inside, [p.astype(np.int32)], 1)
    assert t["gt"].sum() > 0
    assert (t["gt"][inside == 0] == 0).all()
    assert t["gt"].sum() < 0.7 * inside.sum()
    assert t["thresh"].min() >= 0.3 - 1e-6 and t["thresh"].max() <= 0.7 + 1e-6
    # The threshold map peaks on the edges and is only learned around the text.
    assert t["thresh"][30, 70] > 0.69
    assert t["thresh_mask"][0, 0] == 0 and t["thresh_mask"][30, 70] == 1


def test_dont_care_and_tiny_words_are_masked_out() -> None:
    polys = [rect_quad(20, 30, 120, 44), rect_quad(150, 100, 190, 101.5)]
    t = db_targets(polys, [True, False], 128, 256)
    assert t["gt"].sum() == 0
    assert t["mask"][37, 70] == 0 and t["mask"][100, 170] == 0 and t["mask"][5, 5] == 1


def test_east_targets_give_distances_to_the_box_edges() -> None:
    t = east_targets([rect_quad(20, 32, 120, 48)], [False], 64, 160, stride=4)
    ys, xs = np.nonzero(t["score"])
    assert len(xs) > 0
    top, right, bottom, left, angle = t["geo"][:, ys, xs]
    cx, cy = (xs + 0.5) * 4, (ys + 0.5) * 4
    np.testing.assert_allclose(top, cy - 32, atol=1.01)
    np.testing.assert_allclose(left, cx - 20, atol=1.01)
    np.testing.assert_allclose(top + bottom, 16, atol=1.01)
    np.testing.assert_allclose(left + right, 100, atol=1.01)
    np.testing.assert_allclose(angle, 0, atol=1e-3)


def test_db_postprocess_recovers_the_words_from_their_shrunk_kernels() -> None:
    polys = [rect_quad(*r) for r in RECTS]
    prob = db_targets(polys, [False] * len(polys), 256, 256)["gt"]
    found = db_postprocess(prob, box_thresh=0.5)
    assert len(found) == len(RECTS)
    for det in found:
        assert det.polygon.shape == (4, 2) and det.polygon.dtype == np.float32
        best = min(RECTS, key=lambda r: np.abs(np.subtract(det.box, r)).sum())
        np.testing.assert_allclose(det.box, best, atol=2.0)


def test_db_postprocess_maps_boxes_back_to_page_scale_and_drops_weak_regions() -> None:
    prob = np.zeros((100, 200), np.float32)
    prob[40:46, 50:150] = 0.9
    prob[80:86, 20:60] = 0.4  # above the binarisation threshold, below the box score threshold
    found = db_postprocess(prob, scale=(0.5, 0.5), size=(400, 200))
    assert len(found) == 1
    x0, y0, x1, y1 = found[0].box
    assert 80 < x0 < 100 and 290 < x1 < 320 and 60 < y0 < 80 and 90 < y1 < 110


def test_fragments_of_one_run_of_text_are_joined_and_separate_words_are_not() -> None:
    def region(x0: float, y0: float, x1: float, y1: float, score: float = 0.9) -> Detection:
        return Detection(polygon=rect_quad(x0, y0, x1, y1), score=score)

    pieces = [
        region(10, 100, 170, 130, 0.8),  # "Customer: A" …
        region(160, 101, 300, 131, 0.7),  # … "Ada Lovelace": the kernel broke inside "Ada" (overlap 10 px)
        region(310, 100, 380, 130),  # the next word, touching nothing: kept apart
        region(10, 140, 170, 170),  # the line below: overlaps the first along x only
    ]
    out = sorted(merge_line_fragments(pieces, 0.25), key=lambda d: d.box)
    assert len(out) == 3
    joined = next(d for d in out if d.box[2] > 290 and d.box[0] < 20)
    np.testing.assert_allclose(joined.box, (10, 100, 300, 131), atol=1.0)
    assert joined.score == 0.7
    # An overlap under the threshold (5 px of a 30 px line) is not a broken kernel.
    assert len(merge_line_fragments([region(0, 0, 100, 30), region(95, 0, 200, 30)], 0.25)) == 2
    # Tilted regions are left alone: their axis-aligned extents do not describe a line.
    tilted = cv2.boxPoints(((100.0, 100.0), (160.0, 30.0), 40.0)).astype(np.float32)
    shifted = tilted + np.float32([40, 30])
    tilted_pieces = [Detection(order_quad(tilted), 0.9), Detection(order_quad(shifted), 0.9)]
    assert len(merge_line_fragments(tilted_pieces, 0.25)) == 2


def test_db_postprocess_joins_a_broken_kernel_only_when_asked() -> None:
    prob = np.zeros((100, 300), np.float32)
    prob[40:52, 20:140] = 0.9
    prob[41:52, 141:260] = 0.9  # one pixel column of background splits the line's kernel
    assert len(db_postprocess(prob)) == 2
    found = db_postprocess(prob, merge_overlap=0.25)
    assert len(found) == 1
    x0, _, x1, _ = found[0].box
    assert x0 < 20 and x1 > 259


def test_polygons_are_clockwise_from_top_left() -> None:
    quad = order_quad(np.array([[10, 20], [0, 0], [10, 0], [0, 20]], np.float32))
    np.testing.assert_array_equal(quad, [[0, 0], [10, 0], [10, 20], [0, 20]])
    assert polygon_area(quad) == 200


def test_east_postprocess_merges_pixels_into_one_box_per_word() -> None:
    t = east_targets([rect_quad(20, 32, 120, 48), rect_quad(40, 100, 100, 116)], [False, False], 160, 160)
    found = east_postprocess(t["score"], t["geo"], stride=4)
    assert len(found) == 2
    np.testing.assert_allclose(found[0].box, (20, 32, 120, 48), atol=1.5)
    np.testing.assert_allclose(found[1].box, (40, 100, 100, 116), atol=1.5)


def test_nms_keeps_the_best_of_overlapping_quads() -> None:
    quads = np.stack([rect_quad(0, 0, 10, 10), rect_quad(1, 0, 11, 10), rect_quad(50, 50, 60, 60)])
    assert sorted(nms_quads(quads, np.array([0.5, 0.9, 0.7]), 0.3)) == [1, 2]


@pytest.mark.parametrize("name", ["db_tiny", "east_small"])
def test_onnx_export_matches_torch_for_any_input_size(name: str, tmp_path: Path) -> None:
    from textlens.export.detection import detector_parity, export_detector

    model = create_model(name).eval()
    path = export_detector(model, tmp_path / "m.onnx")
    for shape in ((1, 3, 64, 96), (2, 3, 96, 32)):
        assert detector_parity(model, path, torch.randn(*shape)) < 1e-4
