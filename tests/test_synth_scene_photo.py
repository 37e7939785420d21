"""Tests for text on photographs: the background index (finding, text check, cache, crops), smooth-region
placement, and the ``scene_photo`` pages (quads inside the image, transcriptions in the charset, curvature).

Every background is generated here: the tests never need the wallpaper packages of ``make scene-deps``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from shapely.geometry import Polygon
from typer.testing import CliRunner

from textlens.data.charset import LATIN
from textlens.data.manifest import read_manifest
from textlens.data.synth import backgrounds as bg
from textlens.data.synth import scene_photo as photo
from textlens.data.synth.backgrounds import BackgroundIndex, OcrReader, find_pictures, has_text
from textlens.data.synth.pages import PageRenderer, _bend
from textlens.errors import ConfigError


class NoText:
    """A text check that never finds text, counting its calls."""

    name = "no-text"

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, image: np.ndarray) -> Sequence[tuple[str, float]]:
        self.calls += 1
        return []


def _gradient(h: int, w: int, a: Sequence[float], b: Sequence[float], vertical: bool = False) -> np.ndarray:
    t = np.linspace(0, 1, h if vertical else w, dtype=np.float32)
    t = t[:, None, None] if vertical else t[None, :, None]
    out = np.asarray(a, np.float32) * (1 - t) + np.asarray(b, np.float32) * t
    return np.broadcast_to(out, (h, w, 3)).astype(np.uint8)


def _half_busy(h: int = 720, w: int = 1280, seed: int = 0) -> np.ndarray:
    """Left half a smooth gradient, right half coarse high-contrast noise (3-px cells)."""
    image = _gradient(h, w, (40, 90, 160), (90, 150, 200), vertical=True).copy()
    cells = np.random.default_rng(seed).integers(0, 256, (h // 3 + 1, (w - w // 2) // 3 + 1, 3), dtype=np.uint8)
    image[:, w // 2 :] = np.repeat(np.repeat(cells, 3, 0), 3, 1)[:h, : w - w // 2]
    return image


def _save(path: Path, image: np.ndarray) -> Path:
    Image.fromarray(image).save(path)
    return path


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("backgrounds")
    _save(folder / "sky.png", _gradient(768, 1024, (60, 110, 200), (200, 220, 250), vertical=True))
    _save(folder / "sunset.jpg", _gradient(800, 1200, (250, 140, 60), (90, 40, 120)))
    _save(folder / "half.png", _half_busy())
    return folder


@pytest.fixture(scope="module")
def index(photos: Path, tmp_path_factory: pytest.TempPathFactory) -> BackgroundIndex:
    return BackgroundIndex([photos], cache_dir=tmp_path_factory.mktemp("cache"), reader=NoText())


def _font_path() -> str:
    found = subprocess.run(["fc-match", "-f", "%{file}", "DejaVu Sans:bold"], capture_output=True, text=True)
    if not found.stdout:
        pytest.skip("no font from fontconfig")
    return found.stdout


# --- the index -----------------------------------------------------------------------------------------------
def test_index_keeps_the_largest_file_of_a_picture_and_skips_small_ones(tmp_path: Path) -> None:
    sky = _gradient(600, 900, (10, 20, 30), (200, 210, 220))
    _save(tmp_path / "sky_900x600.png", sky)
    _save(tmp_path / "sky_1800x1200.png", cv2.resize(sky, (1800, 1200)))
    _save(tmp_path / "tiny.png", sky[:200, :300])
    (tmp_path / "notes.txt").write_text("not a picture")
    found = find_pictures([tmp_path])
    assert [(p.name, w, h) for p, w, h in found] == [("sky_1800x1200.png", 1800, 1200)]


def test_verdicts_are_cached_and_crops_have_the_requested_size(photos: Path, tmp_path: Path) -> None:
    reader = NoText()
    first = BackgroundIndex([photos], cache_dir=tmp_path, reader=reader)
    assert reader.calls == 3 and first.summary() == {"found": 3, "with_text": 0, "usable": 3}
    assert (tmp_path / "backgrounds.json").is_file() and len(list((tmp_path / "backgrounds").glob("*.jpg"))) == 3
    again = NoText()
    second = BackgroundIndex([photos], cache_dir=tmp_path, reader=again)
    assert again.calls == 0 and [p.path for p in second.usable] == [p.path for p in first.usable]
    rng = np.random.default_rng(0)
    for width, height in ((640, 480), (1280, 720), (540, 960)):
        crop = second.crop(rng, width, height)
        assert crop.shape == (height, width, 3) and crop.dtype == np.uint8


def test_text_check_rejects_a_picture_with_text_and_keeps_a_plain_gradient(tmp_path: Path) -> None:
    folder = tmp_path / "pictures"
    folder.mkdir()
    _save(folder / "plain.png", _gradient(600, 800, (70, 120, 190), (180, 200, 230)))
    sign = Image.fromarray(_gradient(600, 800, (235, 235, 225), (200, 205, 210)))
    ImageDraw.Draw(sign).text((60, 230), "OPEN DAILY", font=ImageFont.truetype(_font_path(), 96), fill=(20, 20, 30))
    sign.save(folder / "sign.png")
    index = BackgroundIndex([folder], cache_dir=tmp_path / "cache", reader=OcrReader())
    verdicts = {Path(p.path).name: p for p in index.pictures}
    assert verdicts["sign.png"].has_text, verdicts["sign.png"].words
    assert {"OPEN", "DAILY"} <= {text.upper() for text, _ in verdicts["sign.png"].words}
    assert not verdicts["plain.png"].has_text, verdicts["plain.png"].words
    assert [Path(p.path).name for p in index.usable] == ["plain.png"]


def test_has_text_needs_a_confident_reading_of_two_letters_or_digits() -> None:
    assert has_text([("SWAY", 0.9998)]) and has_text([("®MATE", 0.907)]) and has_text([("No", 0.97)])
    assert not has_text([("/", 0.999), ("7", 0.99), ("SAS", 0.735), ("34", 0.911), ("bued", 0.802)])


def test_no_pictures_is_a_config_error_naming_the_packages(tmp_path: Path) -> None:
    empty = BackgroundIndex([tmp_path], cache_dir=tmp_path / "cache", reader=NoText())
    with pytest.raises(ConfigError, match="make scene-deps"):
        PageRenderer("scene_photo", backgrounds=empty)


# --- placement -----------------------------------------------------------------------------------------------
def test_find_place_keeps_boxes_on_the_smooth_half_and_off_taken_cells() -> None:
    image = _half_busy().astype(np.float32)
    busy = photo.busy_map(image)
    assert busy[:, : busy.shape[1] // 2 - 4].max() < photo.SMOOTH < busy[:, busy.shape[1] // 2 + 4 :].min()
    occupied = np.zeros(busy.shape, np.uint8)
    occupied[:, :40] = 1  # the left 160 px are taken
    rng = np.random.default_rng(0)
    for _ in range(50):
        spot = photo.find_place(rng, busy, occupied, 200, 60)
        assert spot is not None
        x, y = spot
        assert x >= 160 and x + 200 <= 640 + 8 and y >= 0 and y + 60 <= 720 + 4
    assert photo.find_place(rng, busy, occupied, 700, 60) is None  # no smooth window that wide


def test_find_place_keeps_boxes_off_the_edge_between_two_flat_areas() -> None:
    image = np.full((480, 640, 3), 60, np.float32)
    image[:, 320:] = 150  # two flat areas: the edge between them is thin, so the mean gradient over a box is low
    grey = photo.grey_map(image)
    busy = photo.busy_map(image, grey=grey)
    occupied = np.zeros(busy.shape, np.uint8)
    # the gradient alone would let a 120×40 box (30×10 cells) cross the edge: its mean busyness stays low
    assert photo.window_means(busy, 30, 10)[20, 80 - 15] < photo.SMOOTH
    rng = np.random.default_rng(2)
    for _ in range(100):
        spot = photo.find_place(rng, busy, occupied, 120, 40, grey=grey)
        assert spot is not None and (spot[0] + 120 <= 320 + 8 or spot[0] >= 320 - 8)


def test_contrast_colour_differs_in_luminance_from_the_background() -> None:
    rng = np.random.default_rng(1)
    for grey in (0, 40, 100, 128, 160, 230, 255):
        for _ in range(20):
            background = np.full(3, grey, np.float32)
            colour = photo.contrast_colour(rng, background)
            assert abs(photo.luminance(colour) - grey) >= photo.MIN_CONTRAST - 1e-3


def test_bent_word_quads_hold_their_ink() -> None:
    mask = Image.new("L", (420, 90), 0)
    draw = ImageDraw.Draw(mask)
    font = ImageFont.truetype(_font_path(), 48)
    quads = []
    x = 20.0
    for word in ("Curved", "street"):
        draw.text((x, 15), word, font=font, fill=255)
        x0, y0, x1, y1 = draw.textbbox((x, 15), word, font=font)
        quads.append(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32))
        x = x1 + 18
    alpha = np.asarray(mask, np.float32) / 255
    for sag in (-60.0, 45.0):
        bent, bent_quads = _bend(alpha, quads, sag)
        inside = np.zeros(bent.shape, np.uint8)
        for quad in bent_quads:
            assert Polygon(quad).is_valid
            cv2.fillPoly(inside, [np.round(quad).astype(np.int32)], 1)
        inside = cv2.dilate(inside, np.ones((3, 3), np.uint8))
        ink = bent > 0.5
        assert ink.sum() > 0.9 * (alpha > 0.5).sum()
        assert (ink & (inside > 0)).sum() >= 0.98 * ink.sum()


# --- pages ---------------------------------------------------------------------------------------------------
def test_scene_photo_pages_have_quads_inside_and_transcriptions_in_the_charset(index: BackgroundIndex) -> None:
    renderer = PageRenderer("scene_photo", seed=3, backgrounds=index)
    total = 0
    tilted = 0
    for i in range(6):
        page = renderer.sample_at(i)
        h, w = page.image.shape[:2]
        assert page.image.dtype == np.uint8 and page.image.shape[2] == 3
        assert 640 <= max(h, w) <= 1280 and page.source == "synth:page:scene_photo"
        for word in page.words:
            x0, y0, x1, y1 = word.box
            assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
            assert word.polygon is not None and len(word.polygon) == 4
            xs, ys = [p[0] for p in word.polygon], [p[1] for p in word.polygon]
            assert (min(xs), min(ys), max(xs), max(ys)) == pytest.approx(word.box, abs=0.02)
            assert Polygon(word.polygon).is_valid
            assert word.text and " " not in word.text and set(word.text) <= set(LATIN)
            assert isinstance(word.extra["line"], int)
            (ax, ay), (bx, by) = word.polygon[0], word.polygon[1]
            tilted += abs(np.degrees(np.arctan2(by - ay, bx - ax))) > 10
        total += len(page.words)
    assert total >= 20 and tilted >= 2


def test_scene_photo_text_lies_on_smooth_regions(photos: Path, tmp_path: Path) -> None:
    """Only the half-smooth, half-noise picture: every placed word is surrounded by the smooth half."""
    folder = tmp_path / "half"
    folder.mkdir()
    _save(folder / "half.png", _half_busy(seed=5))
    index = BackgroundIndex([folder], cache_dir=tmp_path / "cache", reader=NoText())
    renderer = PageRenderer("scene_photo", seed=11, backgrounds=index)
    rings = []
    for i in range(10):
        page = renderer.sample_at(i)
        grey = cv2.cvtColor(page.image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        texture = np.abs(grey - cv2.blur(grey, (5, 5)))  # the noise half: tens of grey levels everywhere
        text = np.zeros(grey.shape, np.uint8)
        for word in page.words:
            cv2.fillPoly(text, [np.round(np.array(word.polygon)).astype(np.int32)], 1)
        for word in page.words:
            if word.ignore:
                continue
            quad = np.zeros(grey.shape, np.uint8)
            cv2.fillPoly(quad, [np.round(np.array(word.polygon)).astype(np.int32)], 1)
            height = max(2, int(min(np.ptp(np.array(word.polygon), axis=0))))
            ring = (cv2.dilate(quad, np.ones((height, height), np.uint8)) > 0) & (
                cv2.dilate(text, np.ones((5, 5), np.uint8)) == 0
            )
            if ring.sum() > 50:
                rings.append(float(np.median(texture[ring])))
    assert len(rings) >= 10
    noise_level = np.median(np.abs(_half_busy()[:, 700:, 0].astype(np.float32) - 128))
    assert noise_level > 40
    assert np.mean(np.array(rings) < 12) >= 0.9, sorted(rings)[-5:]


def test_scene_photo_pages_are_deterministic_and_pickle(index: BackgroundIndex) -> None:
    import pickle

    renderer = PageRenderer("scene_photo", seed=7, backgrounds=index)
    a = renderer.sample_at(2)
    b = pickle.loads(pickle.dumps(renderer)).sample_at(2)
    assert np.array_equal(a.image, b.image) and a.words == b.words


def test_pages_command_and_detector_source_take_scene_photo(
    photos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from textlens.cli.synth import app
    from textlens.train.det_sources import build_page_source, parse_page_source

    monkeypatch.setenv("TEXTLENS_BACKGROUNDS", str(photos))
    monkeypatch.setattr(bg, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr(bg, "_DEFAULT", {})
    monkeypatch.setattr(bg, "OcrReader", NoText)
    result = CliRunner().invoke(app, ["pages", "-n", "2", "-o", str(tmp_path / "out"), "--kind", "scene_photo"])
    assert result.exit_code == 0, result.output
    records = read_manifest(tmp_path / "out" / "manifest.jsonl")
    assert len(records) == 2 and all(r.kind == "page" for r in records)
    source = build_page_source(parse_page_source("synth-pages:kind=scene_photo,crops=1"))
    page = next(source.reader(0, 1, np.random.default_rng(0), (0,)))
    assert page.source == "synth:page:scene_photo" and page.image.ndim == 3
