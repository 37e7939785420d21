"""Tests for textlens.preprocess (each transform, composition, deskew accuracy) and the preprocess CLI."""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest
import typer
from PIL import Image, ImageDraw, ImageFont
from typer.testing import CliRunner

from textlens.cli.preprocess import preprocess
from textlens.errors import ConfigError, InputError
from textlens.preprocess import (
    Binarize,
    Clahe,
    Compose,
    CropMargins,
    Denoise,
    Deskew,
    Grayscale,
    PercentileStretch,
    RescaleTextHeight,
    Rotate,
    adaptive_gaussian,
    affine_to_homogeneous,
    clahe,
    content_box,
    crop_margins,
    denoise,
    deskew,
    estimate_skew,
    estimate_text_height,
    from_options,
    grayscale,
    map_boxes,
    map_points,
    otsu,
    percentile_stretch,
    rescale_to_text_height,
    rotate_bound,
    sauvola,
)

TEXT = (
    "the quick brown fox jumps over a lazy dog while seven wizards quietly mix jugs of pale ivory "
    "paint and hum old songs about maps rivers mountains printing presses and careful readers"
)
WORDS = TEXT.split()


@cache
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans via fontconfig, or Pillow's bundled font where fontconfig is missing."""
    if shutil.which("fc-match"):
        path = subprocess.run(
            ["fc-match", "-f", "%{file}", "DejaVuSans"], capture_output=True, text=True, check=False
        ).stdout
        if path and Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def render_page(width: int = 900, height: int = 1100, size: int = 16, seed: int = 0) -> np.ndarray:
    """Gray page of justified-ish paragraphs, black text on white, generous margins."""
    rng = random.Random(seed)
    f = font(size)
    im = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(im)
    margin, y = width // 10, height // 12
    while y < height - height // 8:
        for _ in range(rng.randint(3, 6)):
            line = ""
            while draw.textlength(f"{line} {WORDS[0]}", font=f) < width - 2 * margin:
                line = f"{line} {rng.choice(WORDS)}".strip()
            draw.text((margin, y), line, fill=0, font=f)
            y += int(size * 1.5)
        y += size * 2
    return np.asarray(im).copy()


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    return render_page()


def f1_text(binary: np.ndarray, truth: np.ndarray) -> float:
    """F1 of black pixels of ``binary`` against the boolean text mask ``truth``."""
    pred = binary == 0
    tp = float((pred & truth).sum())
    precision, recall = tp / max(pred.sum(), 1), tp / max(truth.sum(), 1)
    return 2 * precision * recall / max(precision + recall, 1e-9)


# --- input checks and colour --------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [np.zeros((10, 10), np.float32), np.zeros((10, 10, 4), np.uint8), np.zeros((0, 5), np.uint8), [[0]]],
)
def test_transforms_reject_arrays_that_are_not_uint8_gray_or_rgb(bad: object) -> None:
    with pytest.raises(InputError):
        grayscale(bad)  # type: ignore[arg-type]


def test_grayscale_converts_rgb_and_passes_gray_through() -> None:
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[..., 1] = 200
    gray = grayscale(rgb)
    assert gray.shape == (4, 5) and gray.dtype == np.uint8
    assert abs(int(gray[0, 0]) - round(0.587 * 200)) <= 1
    assert grayscale(gray) is gray
    assert grayscale(rgb[..., :1]).shape == (4, 5)


def test_clahe_raises_local_contrast_and_keeps_shape() -> None:
    rng = np.random.default_rng(0)
    dull = rng.integers(110, 140, (128, 128), dtype=np.uint8)
    out = clahe(dull)
    assert out.shape == dull.shape and out.dtype == np.uint8
    assert out.std() > 2 * dull.std()
    rgb = np.dstack([dull, dull, dull])
    out_rgb = clahe(rgb)
    assert out_rgb.shape == rgb.shape and out_rgb.std() > 2 * rgb.std()


def test_percentile_stretch_spreads_the_range_and_leaves_flat_images() -> None:
    ramp = np.tile(np.linspace(60, 160, 200).astype(np.uint8), (10, 1))
    out = percentile_stretch(ramp, 1, 99)
    assert out.min() == 0 and out.max() == 255
    assert np.all(np.diff(out[0].astype(int)) >= 0)  # monotone
    flat = np.full((8, 8, 3), 77, np.uint8)
    np.testing.assert_array_equal(percentile_stretch(flat), flat)
    with pytest.raises(ConfigError):
        percentile_stretch(ramp, 90, 10)


# --- binarisation -------------------------------------------------------------------------------


def test_otsu_splits_a_bimodal_image_between_the_modes() -> None:
    rng = np.random.default_rng(1)
    labels = rng.random((100, 100)) < 0.3
    img = np.where(labels, 60, 190) + rng.normal(0, 8, (100, 100))
    binary, threshold = otsu(np.clip(img, 0, 255).astype(np.uint8))
    assert 80 < threshold < 170
    assert set(np.unique(binary)) <= {0, 255}
    assert np.mean((binary == 0) == labels) > 0.99


def test_sauvola_recovers_text_under_uneven_illumination_where_otsu_fails(page: np.ndarray) -> None:
    truth = page < 128
    h, w = page.shape
    light = np.linspace(1.0, 0.35, w)[None, :] * np.linspace(1.0, 0.8, h)[:, None]
    shaded = np.clip(page * light + 20, 0, 255).astype(np.uint8)
    f1_otsu = f1_text(otsu(shaded)[0], truth)
    binary = sauvola(shaded, window=31, k=0.2, r=128)
    assert binary.shape == page.shape and binary.dtype == np.uint8
    assert set(np.unique(binary)) <= {0, 255}
    recall = (binary[truth] == 0).mean()
    assert recall > 0.95
    assert f1_text(binary, truth) > 0.75
    assert f1_text(binary, truth) > f1_otsu + 0.4


def test_adaptive_gaussian_gives_binary_text_on_white(page: np.ndarray) -> None:
    binary = adaptive_gaussian(page)
    assert set(np.unique(binary)) <= {0, 255}
    assert f1_text(binary, page < 128) > 0.7


@pytest.mark.parametrize("kwargs", [{"window": 30}, {"window": 1}, {"r": 0}])
def test_sauvola_rejects_invalid_parameters(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        sauvola(np.zeros((10, 10), np.uint8), **kwargs)  # type: ignore[arg-type]


def test_binarize_step_rejects_unknown_method() -> None:
    with pytest.raises(ConfigError, match="unknown binarisation"):
        Binarize("magic")  # type: ignore[arg-type]


# --- denoising ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["nlmeans", "median", "bilateral"])
@pytest.mark.parametrize("channels", [0, 3])
def test_denoise_reduces_noise_variance_and_keeps_shape(method: str, channels: int) -> None:
    rng = np.random.default_rng(2)
    shape = (96, 96) if channels == 0 else (96, 96, channels)
    noisy = np.clip(128 + rng.normal(0, 10, shape), 0, 255).astype(np.uint8)
    out = denoise(noisy, method)  # type: ignore[arg-type]
    assert out.shape == noisy.shape and out.dtype == np.uint8
    assert out.astype(float).var() < 0.5 * noisy.astype(float).var()


def test_denoise_rejects_even_median_aperture() -> None:
    with pytest.raises(ConfigError):
        denoise(np.zeros((9, 9), np.uint8), "median", 4)


# --- rotation and deskew ------------------------------------------------------------------------


def test_rotate_bound_keeps_all_content_and_its_matrix_maps_pixels() -> None:
    img = np.full((60, 100, 3), 255, np.uint8)
    img[10:13, 80:83] = (255, 0, 0)  # a red marker centred on (81.5, 11.5) in box coordinates
    out, matrix = rotate_bound(img, 30)
    cos, sin = np.cos(np.radians(30)), np.sin(np.radians(30))
    assert abs(out.shape[1] - (100 * cos + 60 * sin)) <= 1 and abs(out.shape[0] - (60 * cos + 100 * sin)) <= 1
    assert matrix.shape == (2, 3)
    red = (out[..., 0] > 150) & (out[..., 1] < 100)
    ys, xs = np.nonzero(red)
    found = np.array([xs.mean() + 0.5, ys.mean() + 0.5])
    expected = map_points(affine_to_homogeneous(matrix), [[81.5, 11.5]])[0]
    np.testing.assert_allclose(found, expected, atol=0.6)
    # the border is white, not black
    assert tuple(out[0, 0]) == (255, 255, 255)


@pytest.mark.parametrize("angle", [-15.0, -7.3, -2.0, 0.0, 0.4, 3.1, 9.8, 15.0])
def test_estimate_skew_recovers_a_known_rotation(page: np.ndarray, angle: float) -> None:
    skewed, _ = rotate_bound(page, angle)
    assert abs(estimate_skew(skewed) - angle) < 0.5


def test_estimate_skew_ignores_paper_edges_and_scanner_borders(page: np.ndarray) -> None:
    # gray paper (like a receipt) pasted on a white scanner bed, with a black scan edge on top
    paper = (page.astype(np.float32) * 0.75).astype(np.uint8)
    bed = np.full((page.shape[0] + 200, page.shape[1] + 200), 255, np.uint8)
    bed[100:-100, 100:-100] = paper
    skewed, _ = rotate_bound(bed, 6.5)
    skewed[:6, :] = 0
    assert abs(estimate_skew(skewed) - 6.5) < 0.5


def test_deskew_straightens_the_page_and_reports_the_angle(page: np.ndarray) -> None:
    skewed, _ = rotate_bound(np.dstack([page] * 3), -4.2)
    straight, angle, matrix = deskew(skewed)
    assert abs(angle + 4.2) < 0.5
    assert straight.ndim == 3 and straight.dtype == np.uint8
    assert abs(estimate_skew(straight)) < 0.3
    assert matrix.shape == (2, 3)


def test_estimate_skew_of_a_blank_page_is_zero() -> None:
    assert estimate_skew(np.full((300, 200), 250, np.uint8)) == 0.0
    straight, angle, _ = deskew(np.full((300, 200), 250, np.uint8))
    assert angle == 0.0 and straight.shape == (300, 200)


def test_deskew_step_returns_an_identity_transform_when_nothing_to_fix(page: np.ndarray) -> None:
    result = Deskew()(page)
    assert result.applied[0].name == "deskew" and not result.applied[0].params["rotated"]
    np.testing.assert_allclose(result.transform, np.eye(3))


# --- crop and rescale ---------------------------------------------------------------------------


def test_content_box_finds_the_ink_and_ignores_specks_and_scan_edges() -> None:
    img = np.full((200, 300), 255, np.uint8)
    img[50:90, 70:210] = 0
    img[5, 5] = 0  # a speck
    img[:, 295:] = 30  # dark scanner edge along the right border
    assert content_box(img) == (70, 50, 210, 90)
    cropped, offset = crop_margins(img, padding=10)
    assert offset == (60, 40)
    assert cropped.shape == (60, 160)


def test_crop_margins_of_a_blank_page_keeps_it_whole() -> None:
    blank = np.full((50, 40, 3), 255, np.uint8)
    out, offset = crop_margins(blank)
    assert offset == (0, 0) and out.shape == blank.shape


def test_crop_step_transform_maps_a_box_onto_the_crop() -> None:
    img = np.full((200, 300), 255, np.uint8)
    img[50:90, 70:210] = 0
    result = CropMargins(padding=10)(img)
    np.testing.assert_allclose(map_boxes(result.transform, [[70, 50, 210, 90]]), [[10, 10, 150, 50]])
    np.testing.assert_allclose(result.boxes_to_original([[10, 10, 150, 50]]), [[70, 50, 210, 90]])


def test_estimate_text_height_matches_the_font_x_height() -> None:
    size = 24
    bbox = font(size).getbbox("x")
    x_height = bbox[3] - bbox[1]
    estimate = estimate_text_height(render_page(700, 600, size))
    assert estimate is not None
    assert abs(estimate - x_height) <= max(1.0, 0.1 * x_height)


@pytest.mark.parametrize(("size", "target"), [(14, 24), (32, 16)])
def test_rescale_to_text_height_hits_the_target(size: int, target: int) -> None:
    out, scale, measured = rescale_to_text_height(render_page(700, 600, size), target)
    assert measured is not None
    assert abs(scale - target / measured) < 1e-9
    after = estimate_text_height(out)
    assert after is not None and abs(after - target) <= 0.15 * target


def test_rescale_without_text_leaves_the_image_alone() -> None:
    blank = np.full((40, 40), 255, np.uint8)
    out, scale, measured = rescale_to_text_height(blank, 20)
    assert scale == 1.0 and measured is None and out.shape == blank.shape


# --- composition --------------------------------------------------------------------------------


def test_compose_transform_maps_a_marker_forward_and_a_box_back(page: np.ndarray) -> None:
    rgb = np.dstack([page] * 3)
    rgb[700:712, 300:312] = (255, 0, 0)  # red marker, centre (306, 706)
    pipeline = Compose((Rotate(8.0), CropMargins(padding=5), RescaleTextHeight(12.0)))
    result = pipeline(rgb)
    assert [s.name for s in result.applied] == ["rotate", "crop", "rescale"]
    out = result.image
    ys, xs = np.nonzero((out[..., 0] > 150) & (out[..., 1] < 100))
    found = np.array([xs.mean() + 0.5, ys.mean() + 0.5])
    expected = map_points(result.transform, [[306.0, 706.0]])[0]
    np.testing.assert_allclose(found, expected, atol=1.0)
    # a point taken forward comes back where it started
    np.testing.assert_allclose(result.to_original([expected]), [[306.0, 706.0]], atol=1e-9)
    # a box of the output maps back around the original marker
    scale = result.transform[0, 0] ** 2 + result.transform[0, 1] ** 2
    half = 6 * np.sqrt(scale)
    back = result.boxes_to_original([[*(expected - half), *(expected + half)]])[0]
    assert back[0] <= 300 + 1 and back[1] <= 700 + 1 and back[2] >= 312 - 1 and back[3] >= 712 - 1


def test_identity_steps_keep_the_transform_identity(page: np.ndarray) -> None:
    steps = (Grayscale(), Denoise("median", 3), Clahe(), PercentileStretch(), Binarize("sauvola"))
    result = Compose(steps)(page)
    np.testing.assert_allclose(result.transform, np.eye(3))
    assert result.image.shape == page.shape
    assert set(np.unique(result.image)) <= {0, 255}


def test_from_options_orders_steps_and_validates() -> None:
    pipeline = from_options(
        deskew=True, binarize="otsu", denoise=True, clahe=True, grayscale=True, crop=True, target_height=20
    )
    names = [type(s).__name__ for s in pipeline.steps]
    assert names == [
        "Grayscale",
        "Denoise",
        "Clahe",
        "Deskew",
        "CropMargins",
        "RescaleTextHeight",
        "Binarize",
    ]
    assert len(from_options()) == 0
    with pytest.raises(ConfigError):
        from_options(binarize="magic")
    with pytest.raises(ConfigError):
        from_options(target_height=0)


def test_preprocess_imports_without_torch() -> None:
    code = "import sys, textlens.preprocess, textlens.cli.preprocess; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- CLI ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli() -> typer.Typer:
    app = typer.Typer()
    app.command("preprocess")(preprocess)

    @app.command("noop", hidden=True)
    def noop() -> None:
        """Second command so typer keeps 'preprocess' as a subcommand name."""

    return app


def write_png(path: Path, image: np.ndarray) -> Path:
    Image.fromarray(image).save(path)
    return path


def flat(text: str) -> str:
    return " ".join(text.split())


def test_cli_deskews_one_image_into_a_png_file(cli: typer.Typer, tmp_path: Path) -> None:
    skewed, _ = rotate_bound(render_page(600, 500, 14), 5.0)
    src = write_png(tmp_path / "scan.png", skewed)
    out = tmp_path / "clean.png"
    result = CliRunner().invoke(cli, ["preprocess", str(src), "-o", str(out), "--binarize", "sauvola"])
    assert result.exit_code == 0, result.output
    written = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert written.ndim == 2 and set(np.unique(written)) <= {0, 255}
    assert abs(estimate_skew(written)) < 0.5
    reported = re.search(r"deskewed by ([+-][0-9.]+)°", flat(result.output))
    assert reported is not None and abs(float(reported.group(1)) - 5.0) < 0.5


def test_cli_writes_a_folder_and_reports_failed_inputs(cli: typer.Typer, tmp_path: Path) -> None:
    good = write_png(tmp_path / "good.png", render_page(400, 300, 14))
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    pdf = tmp_path / "doc.pdf"
    pages = [Image.fromarray(render_page(300, 400, 12, seed=s)).convert("RGB") for s in (1, 2)]
    pages[0].save(pdf, save_all=True, append_images=pages[1:], resolution=72)
    out = tmp_path / "out"
    args = [
        "preprocess",
        str(good),
        str(bad),
        str(pdf),
        "-o",
        str(out),
        "--crop",
        "--grayscale",
        "--dpi",
        "72",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert sorted(p.name for p in out.iterdir()) == ["doc-p1.png", "doc-p2.png", "good.png"]
    assert "bad.png" in flat(result.output) and "error" in result.output
    cropped = cv2.imread(str(out / "good.png"), cv2.IMREAD_UNCHANGED)
    assert cropped.ndim == 2 and cropped.shape[0] < 300 and cropped.shape[1] < 400


@pytest.mark.parametrize(
    "tail",
    [["-o", "{out}", "--binarize", "magic"], [], ["-o", "{out}", "--text-height", "0"]],
    ids=["unknown-binarize", "missing-output", "zero-text-height"],
)
def test_cli_usage_errors_exit_2(cli: typer.Typer, tmp_path: Path, tail: list[str]) -> None:
    src = write_png(tmp_path / "a.png", render_page(200, 200, 12))
    args = ["preprocess", str(src), *(t.format(out=tmp_path / "o.png") for t in tail)]
    assert CliRunner().invoke(cli, args).exit_code == 2
    assert not (tmp_path / "o.png").exists()


def test_cli_rejects_an_output_file_that_is_not_png(cli: typer.Typer, tmp_path: Path) -> None:
    src = write_png(tmp_path / "a.png", render_page(200, 200, 12))
    result = CliRunner().invoke(cli, ["preprocess", str(src), "-o", str(tmp_path / "a.jpg")])
    assert result.exit_code == 2
    assert not (tmp_path / "a.jpg").exists()
