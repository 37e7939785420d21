"""Handwritten digits: the digits_cnn architecture, the torch-free classifier and its input normalisation, the
bundled digits_cnn on digits drawn here, the digit-string composer, and a tiny training run end to end.

Every image is generated here: digits are drawn with OpenCV's Hershey fonts (the script one looks handwritten),
so nothing needs ../shared/data."""

from __future__ import annotations

import gzip
import itertools
import json
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from textlens.data.digit_strings import CHARSET, DigitBank, StringStyle, compose, ink_crop, random_text, sample
from textlens.errors import ConfigError
from textlens.models.bundle import WEIGHTS_ROOT, read_bundle
from textlens.models.digits_predict import CANVAS, card_metrics, load_digit_classifier, prepare_digit

FONTS = (cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX)
HAS_DIGITS_CNN = (WEIGHTS_ROOT / "digits_cnn" / "model.onnx").is_file()
HAS_DIGITS_DEVA = (WEIGHTS_ROOT / "digits_deva" / "model.onnx").is_file()
DEVANAGARI_FONT = Path("/usr/share/fonts/truetype/Gargi/Gargi.ttf")  # a Debian font, when installed


def drawn_digit(
    digit: int, font: int = cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, thickness: int = 2, size: int = 28
) -> np.ndarray:
    """A digit drawn light on black in an MNIST-like 28×28 canvas (about 20 px tall, centred)."""
    canvas = np.zeros((64, 64), np.uint8)
    cv2.putText(canvas, str(digit), (16, 50), font, 1.4, 255, thickness, cv2.LINE_AA)
    rows, cols = np.nonzero(canvas)
    crop = canvas[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    scale = 20 / max(crop.shape)
    small = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))))
    out = np.zeros((size, size), np.uint8)
    top, left = (size - small.shape[0]) // 2, (size - small.shape[1]) // 2
    out[top : top + small.shape[0], left : left + small.shape[1]] = small
    return out


def drawn_bank() -> DigitBank:
    images = [drawn_digit(d, font, t) for d in range(10) for font in FONTS for t in (2, 3)]
    labels = [d for d in range(10) for _ in FONTS for _ in (2, 3)]
    return DigitBank.from_arrays(np.stack(images), np.array(labels))


# ---------------------------------------------------------------------------------------------- model


def test_digits_cnn_is_registered_and_classifies_a_batch() -> None:
    torch = pytest.importorskip("torch")
    from textlens.models.registry import create_model, get_spec, list_models

    assert "digits_cnn" in list_models("digits") and get_spec("digits_cnn").family == "digits"
    model = create_model("digits_cnn").eval()
    with torch.no_grad():
        assert model(torch.rand(3, 1, CANVAS, CANVAS)).shape == (3, 10)
        assert create_model("digits_cnn", num_classes=20)(torch.rand(2, 1, 28, 28)).shape == (2, 20)
    assert sum(p.numel() for p in model.parameters()) < 500_000  # small: one CPU core trains it


def test_augmentation_keeps_the_batch_shape_and_range() -> None:
    torch = pytest.importorskip("torch")
    from textlens.train.digits_data import DigitsTrainConfig, augment_batch

    images = torch.from_numpy(np.stack([drawn_digit(d) for d in range(4)]))[:, None].float() / 255
    warped = augment_batch(images, DigitsTrainConfig(out=Path(".")), torch.Generator().manual_seed(0))
    assert warped.shape == images.shape and float(warped.min()) >= 0 and float(warped.max()) <= 1.0 + 1e-6
    assert not torch.equal(warped, images) and float(warped.sum()) > 0.5 * float(images.sum())


# ---------------------------------------------------------------------------------------------- input


def test_prepare_digit_makes_light_ink_centred_on_black() -> None:
    page = np.full((60, 90, 3), 240, np.uint8)  # a dark digit off-centre on light paper
    cv2.putText(page, "7", (55, 50), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 1.2, (20, 20, 20), 3, cv2.LINE_AA)
    canvas = prepare_digit(page)
    assert canvas.shape == (CANVAS, CANVAS) and canvas.dtype == np.float32
    assert canvas.max() == pytest.approx(1.0) and canvas[0].max() == 0 and canvas[:, 0].max() == 0
    rows, cols = np.nonzero(canvas > 0.25)
    assert max(rows.max() - rows.min(), cols.max() - cols.min()) + 1 <= 21  # the longer side fitted to 20 px
    ys, xs = np.indices(canvas.shape)
    assert abs((ys * canvas).sum() / canvas.sum() - 14) <= 1 and abs((xs * canvas).sum() / canvas.sum() - 14) <= 1
    assert not prepare_digit(np.full((40, 40), 255, np.uint8)).any()  # blank paper: an empty canvas
    mnist_like = drawn_digit(3)
    assert np.allclose(prepare_digit(mnist_like), mnist_like / 255.0, atol=1e-6)  # 28×28 inputs as given


# ---------------------------------------------------------------------------------------------- bundle


@pytest.mark.skipif(not HAS_DIGITS_CNN, reason="digits_cnn is not bundled")
def test_bundled_digits_cnn_reads_drawn_digits_on_onnxruntime() -> None:
    classifier = load_digit_classifier("digits_cnn", threads=1)
    assert classifier.labels == [str(d) for d in range(10)]
    images, truth = [], []
    for digit in range(10):
        for font in FONTS:
            for thickness in (2, 3):
                images.append(drawn_digit(digit, font, thickness))
                truth.append(str(digit))
    probabilities = classifier.probabilities(images)
    assert probabilities.shape == (60, 10) and np.allclose(probabilities.sum(1), 1, atol=1e-5)
    # A paper-like version of the same digits (dark on light, larger, off-centre) goes through prepare_digit.
    paper = [cv2.resize(255 - im, (56, 70)) for im in images[::6]]
    right = sum(p == t for p, t in zip(classifier(images), truth, strict=True))
    right_paper = sum(p == t for p, t in zip(classifier(paper), truth[::6], strict=True))
    assert right >= 48, right  # font digits are not MNIST's handwriting; the bundle reads most of them
    assert right_paper >= 8, right_paper


@pytest.mark.skipif(not HAS_DIGITS_CNN, reason="digits_cnn is not bundled")
def test_bundled_digits_cnn_card_states_what_config_measured() -> None:
    bundle = read_bundle("digits_cnn")
    assert bundle.family == "digits" and bundle.arch == "digits_cnn" and bundle.has_torch and bundle.has_onnx
    validation = card_metrics(bundle)["validation"]
    assert validation["count"] == 5000 and validation["error"] <= 0.006
    card = bundle.card.read_text(encoding="utf-8")
    assert card.startswith("# digits_cnn") and f"{validation['error'] * 100:.2f} %" in card
    assert sum(p.stat().st_size for p in bundle.folder.iterdir()) <= 2 * 1024 * 1024


@pytest.mark.skipif(not HAS_DIGITS_CNN, reason="digits_cnn is not bundled")
def test_classify_command_prints_the_digit_and_its_probability(tmp_path: Path) -> None:
    from textlens.cli.app import app

    path = tmp_path / "seven.png"
    cv2.imwrite(str(path), cv2.resize(255 - drawn_digit(7, cv2.FONT_HERSHEY_SIMPLEX, 3), (60, 60)))
    result = CliRunner().invoke(app, ["digits", "classify", str(path)])
    assert result.exit_code == 0, result.output
    name, digit, probability = result.stdout.strip().split("\t")
    assert name == str(path) and digit == "7" and 0.5 < float(probability) <= 1.0
    missing = CliRunner().invoke(app, ["digits", "classify", str(tmp_path / "nope.png")])
    assert missing.exit_code != 0 and "nope.png" in missing.output


@pytest.mark.skipif(not (HAS_DIGITS_DEVA and DEVANAGARI_FONT.is_file()), reason="digits_deva or the Gargi font missing")
def test_bundled_digits_deva_reads_numerals_set_in_a_devanagari_font() -> None:
    from PIL import Image, ImageDraw, ImageFont

    classifier = load_digit_classifier("digits_deva", threads=1)
    font = ImageFont.truetype(str(DEVANAGARI_FONT), 48)
    images = []
    for char in "०१२३४५६७८९":
        page = Image.new("L", (90, 90), 245)
        ImageDraw.Draw(page).text((45, 45), char, font=font, fill=20, anchor="mm")
        images.append(np.asarray(page))
    predicted = classifier(images)
    assert sum(p == str(v) for v, p in enumerate(predicted)) >= 8, predicted
    validation = card_metrics(classifier.bundle)["validation"]
    assert validation["count"] == 477 and validation["accuracy"] >= 0.98


@pytest.mark.skipif(not HAS_DIGITS_CNN, reason="digits_cnn is not bundled")
def test_eval_digits_scores_the_bundle_on_a_manifest(tmp_path: Path) -> None:
    from textlens.cli.app import app

    lines = []
    for digit in range(10):
        name = f"{digit}.png"
        cv2.imwrite(str(tmp_path / name), drawn_digit(digit))
        lines.append(json.dumps({"image": name, "label": str(digit)}))
    (tmp_path / "manifest.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["eval", "digits", "--manifest", str(tmp_path / "manifest.jsonl"), "--model", "digits_cnn", "--json"]
    )
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert scores["count"] == 10 and 0.0 <= scores["accuracy"] <= 1.0


# ---------------------------------------------------------------------------------------------- composer


def test_composed_strings_match_their_labels_and_boxes() -> None:
    bank = drawn_bank()
    for index in range(40):
        composed = sample(bank, seed=3, index=index)
        text = composed.text
        assert text and set(text) <= set(CHARSET) and text.strip() == text
        height, width = composed.image.shape[:2]
        assert composed.image.shape == (height, width, 3) and composed.image.dtype == np.uint8
        assert len(composed.boxes) == len(text.replace(" ", ""))
        gray = composed.image[:, :, 0].astype(int)
        paper = np.median(gray)
        centres = []
        for x0, y0, x1, y1 in composed.boxes:
            assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
            assert (gray[y0:y1, x0:x1] < paper - 60).any()  # every glyph box holds ink
            centres.append((x0 + x1) / 2)
        assert centres == sorted(centres)  # reading order, left to right
        assert 0.2 <= height / max(1, width) * len(text) <= 3.5  # a line of glyphs, not a block
    # Deterministic per (seed, index); another index gives another string.
    again = sample(bank, seed=3, index=7)
    assert again.text == sample(bank, 3, 7).text and np.array_equal(again.image, sample(bank, 3, 7).image)


def test_composer_draws_separators_and_touching_digits() -> None:
    bank = drawn_bank()
    rng = np.random.default_rng(0)
    tight = StringStyle(gap=-6.0, gap_jitter=0.0, slant=0.3, pen=1)
    touching = compose("4711", bank, rng, tight)
    spans = [(x0, x1) for x0, _, x1, _ in touching.boxes]
    assert any(a[1] > b[0] for a, b in itertools.pairwise(spans))  # neighbours overlap
    dated = compose("12/03-2024.5,6", bank, rng, StringStyle(slant=0.0, baseline_wobble=0.0))
    assert len(dated.boxes) == 14
    slash, dash, dot = dated.boxes[2], dated.boxes[5], dated.boxes[10]
    digit_height = dated.boxes[0][3] - dated.boxes[0][1]
    assert slash[3] - slash[1] >= digit_height * 0.8  # a slash is as tall as the digits
    assert dash[3] - dash[1] < digit_height / 2 and dot[3] - dot[1] < digit_height / 2
    assert dot[1] > dated.boxes[9][1]  # a dot sits low, by the baseline
    with pytest.raises(ConfigError, match="digits"):
        compose("12a", bank, rng)
    assert {random_text(np.random.default_rng(i), ("date",)).count("/") for i in range(30)} >= {0, 2}


def test_ink_crop_cuts_to_the_strokes() -> None:
    digit = drawn_digit(1)
    crop = ink_crop(digit)
    assert crop.shape[0] < digit.shape[0] and crop.shape[1] < digit.shape[1] and crop.max() == digit.max()


def _write_idx(folder: Path, images: np.ndarray, labels: np.ndarray) -> None:
    with gzip.open(folder / "train-images-idx3-ubyte.gz", "wb") as fh:
        fh.write(struct.pack(">IIII", 2051, len(images), 28, 28) + images.astype(np.uint8).tobytes())
    with gzip.open(folder / "train-labels-idx1-ubyte.gz", "wb") as fh:
        fh.write(struct.pack(">II", 2049, len(labels)) + labels.astype(np.uint8).tobytes())


def test_strings_command_writes_a_crop_manifest_from_idx_files(tmp_path: Path) -> None:
    from textlens.cli.app import app

    bank = drawn_bank()
    images = np.stack([im for d in range(10) for im in bank.by_digit[str(d)]] * 2)
    labels = np.array([d for d in range(10) for _ in bank.by_digit[str(d)]] * 2)
    _write_idx(tmp_path, images, labels)
    out = tmp_path / "strings"
    args = ["digits", "strings", "--data", str(tmp_path), "--split", "val", "--holdout", "60", "--count", "5"]
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--kinds", "date,amount"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(records) == 5 and all((out / r["image"]).is_file() and r["text"] for r in records)
    assert all(set(r["text"]) <= set("0123456789/-.,") for r in records)


# ---------------------------------------------------------------------------------------------- training


def test_held_out_split_is_a_fixed_hash_of_the_path() -> None:
    from textlens.train.digits_data import held_out

    names = [f"images/{d}/{i}.jpg" for d in range(10) for i in range(100)]
    chosen = [n for n in names if held_out(n, 20)]
    assert chosen == [n for n in names if held_out(n, 20)] and 120 <= len(chosen) <= 280
    assert held_out("images\\0\\1.jpg", 20) == held_out("images/0/1.jpg", 20)


def test_training_on_a_label_manifest_exports_a_runnable_bundle(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from textlens.models.digits import export_digits_onnx
    from textlens.train.digits import DigitsTrainConfig, train_digits_model

    lines = []
    for digit in range(10):
        for font in FONTS:
            name = f"{digit}_{font}.png"
            cv2.imwrite(str(tmp_path / name), 255 - drawn_digit(digit, font))  # dark on light, as scans are
            lines.append(json.dumps({"image": name, "label": str(digit)}))
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cfg = DigitsTrainConfig(
        out=tmp_path / "run", source="manifest", data=str(manifest), holdout_percent=30, steps=4, batch=8,
        val_every=4, progress=False, model={"channels": [4, 8, 8], "hidden": 16},
    )  # fmt: skip
    summary = train_digits_model(cfg, graph=export_digits_onnx, log=lambda _: None)
    assert summary["steps"] == 4 and summary["final_val"]["count"] > 0
    export = tmp_path / "run" / "export"
    classifier = load_digit_classifier(export, threads=1)
    assert classifier.labels == [str(d) for d in range(10)] and classifier.bundle.config["family"] == "digits"
    assert len(classifier([drawn_digit(5), drawn_digit(8)])) == 2
