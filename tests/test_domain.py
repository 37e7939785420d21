"""The page domain (document or scene photo): the auto rule, and what the scene domain changes in the pipeline."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.fakes import InkBlobDetector, WidthRecognizer
from textlens.errors import ConfigError
from textlens.pipeline import OCR, SCENE_FINE_LONG_SIDE, SCENE_LONG_SIDE, SCENE_SMALL_TEXT
from textlens.runtime.base import Detection
from textlens.runtime.detector import OnnxDetector
from textlens.runtime.domain import PAPER_SHARE, domain_statistics, page_domain


def _paper_page(tint: tuple[int, int, int] = (250, 250, 250)) -> np.ndarray:
    """A page of print: light paper, rows of dark word-sized bars."""
    page = np.full((800, 600, 3), tint, dtype=np.uint8)
    for y in range(60, 740, 30):
        for x in range(50, 520, 90):
            page[y : y + 12, x : x + 70] = 30
    return page


def _photo() -> np.ndarray:
    """A photo-like image: colourful smooth gradients and texture, a light sign with dark letters on it."""
    rng = np.random.default_rng(1)
    ys, xs = np.mgrid[0:480, 0:640].astype(np.float32)
    image = np.stack([120 + 80 * np.sin(xs / 90), 90 + 60 * np.cos(ys / 70), 60 + 40 * np.sin((xs + ys) / 120)], -1)
    image += rng.normal(0, 18, image.shape)
    image[150:250, 200:460] = 235
    image[180:220, 220:440:30] = 20
    return np.clip(image, 0, 255).astype(np.uint8)


def test_paper_pages_are_documents_and_photos_are_scenes() -> None:
    assert page_domain(_paper_page()) == "document"
    assert page_domain(_paper_page((236, 232, 222))) == "document"  # a yellowed receipt is still paper
    assert page_domain(cv2.cvtColor(_paper_page(), cv2.COLOR_RGB2GRAY)) == "document"  # grey scans too
    assert page_domain(_photo()) == "scene"


def test_the_rule_reads_paper_share_and_colourfulness() -> None:
    paper, colour = domain_statistics(_paper_page())
    assert paper > 0.6 and colour == pytest.approx(0.0, abs=1e-3)
    paper, colour = domain_statistics(_photo())
    assert paper < PAPER_SHARE and colour > 30
    # Mostly paper, but a large, strongly coloured picture on it: a photo (a poster, a shop sign), not a form.
    poster = _paper_page()
    poster[:, :260] = (200, 30, 40)
    poster[:, 260:300] = (30, 60, 210)
    assert domain_statistics(poster)[1] > 30 and page_domain(poster) == "scene"


def test_an_unknown_domain_is_refused() -> None:
    with pytest.raises(ConfigError, match="domain"):
        OCR(detector=InkBlobDetector(), recognizer=WidthRecognizer(), domain="poster")


class _RecordingDetector(OnnxDetector):
    """An OnnxDetector stand-in (no model) that records how it is called and finds one word of a given height."""

    def __init__(self, height: float) -> None:  # no super().__init__: nothing to load
        self.name, self.level, self.input, self.height = "recording", "word", {"max_upscale": 2.0}, height
        self.calls: list[tuple[int | None, bool | None]] = []

    def detect(
        self, image: np.ndarray, *, long_side: int | None = None, ink_fill: bool | None = None
    ) -> list[Detection]:
        self.calls.append((long_side, ink_fill))
        x, y, h = 100.0, 100.0, self.height
        quad = np.array([[x, y], [x + 4 * h, y], [x + 4 * h, y + h], [x, y + h]], dtype=np.float32)
        return [Detection(polygon=quad, score=1.0)]


def test_scene_pages_are_detected_without_ink_fill_at_the_scene_input_size() -> None:
    photo = np.zeros((720, 1280, 3), np.uint8)
    detector = _RecordingDetector(height=60)  # 36 px at the model's scale (768 / 1280)
    ocr = OCR(detector=detector, recognizer=WidthRecognizer(), domain="scene")
    assert len(ocr.detect(photo, "scene")) == 1
    assert detector.calls == [(SCENE_LONG_SIDE, False)]


def test_small_scene_text_is_detected_again_at_a_finer_input_size() -> None:
    photo = np.zeros((720, 1280, 3), np.uint8)
    small = (SCENE_SMALL_TEXT - 2) * 1280 / SCENE_LONG_SIDE  # page pixels that shrink under the bar
    detector = _RecordingDetector(height=small)
    OCR(detector=detector, recognizer=WidthRecognizer()).detect(photo, "scene")
    assert detector.calls == [(SCENE_LONG_SIDE, False), (SCENE_FINE_LONG_SIDE, False)]
    # A photo already no larger than the fine size at the first scale is not run again.
    detector = _RecordingDetector(height=5)
    OCR(detector=detector, recognizer=WidthRecognizer()).detect(np.zeros((300, 400, 3), np.uint8), "scene")
    assert detector.calls == [(SCENE_LONG_SIDE, False)]


def test_documents_are_detected_as_the_detector_is_configured() -> None:
    detector = _RecordingDetector(height=20)
    ocr = OCR(detector=detector, recognizer=WidthRecognizer(), domain="document")
    ocr.detect(_paper_page(), "document")
    assert detector.calls == [(None, None)]


def test_auto_decides_per_page_and_a_forced_domain_wins() -> None:
    auto = OCR(detector=InkBlobDetector(), recognizer=WidthRecognizer())
    assert auto.domain == "auto"
    assert auto.page_domain(_paper_page()) == "document" and auto.page_domain(_photo()) == "scene"
    forced = OCR(detector=InkBlobDetector(), recognizer=WidthRecognizer(), domain="document")
    assert forced.page_domain(_photo()) == "document"


@pytest.mark.parametrize(
    ("domain", "squares", "runs"), [("scene", 1, 1), ("document", 1, 2), ("scene", 2, 2), ("document", 2, 2)]
)
def test_a_photo_with_a_lone_short_word_is_not_tried_sideways(domain: str, squares: int, runs: int) -> None:
    """Documents try the page turned by 90° (a second detector run) when under half their regions are wide or
    there are fewer than two; a photo's lone short word is no reason to, two or more regions none of them wide are."""

    class Squares(_RecordingDetector):
        def detect(self, image: np.ndarray, **options: object) -> list[Detection]:
            super().detect(image, **options)  # type: ignore[arg-type]
            return [
                Detection(polygon=np.array([[x, 100], [x + 40, 100], [x + 40, 140], [x, 140]], np.float32), score=1.0)
                for x in range(100, 100 + 60 * squares, 60)
            ]

    detector = Squares(height=40)
    ocr = OCR(detector=detector, recognizer=WidthRecognizer(), domain=domain)
    ocr.page_rotation(np.zeros((480, 640, 3), np.uint8), domain)  # type: ignore[arg-type]
    assert len(detector.calls) == runs


def test_the_bundled_detector_on_a_textured_photo_adds_no_ink_in_the_scene_domain() -> None:
    """Ink fill turns every word-sized blob of a photo's texture into a region; the scene domain leaves it off."""
    rng = np.random.default_rng(0)
    photo = np.full((480, 640, 3), 170, np.uint8)
    for _ in range(300):  # leaves, gravel, brick: dark blobs the size of letters
        x, y = int(rng.integers(0, 620)), int(rng.integers(0, 460))
        cv2.ellipse(photo, (x, y), (int(rng.integers(3, 9)), int(rng.integers(3, 9))), 0, 0, 360, (40, 60, 30), -1)
    ocr = OCR(threads=1)
    assert isinstance(ocr.detector, OnnxDetector) and ocr.detector.ink_fill
    as_document = ocr.detect(photo, "document")
    as_scene = ocr.detect(photo, "scene")
    assert len(as_scene) < len(as_document)
    assert len(as_document) - len(as_scene) > 20


def test_the_read_command_takes_a_domain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image
    from typer.testing import CliRunner

    from textlens.cli import read as read_cli
    from textlens.cli.app import app

    seen: list[str] = []

    def build(options: read_cli.ReadOptions) -> OCR:
        seen.append(options.domain)
        return OCR(detector=InkBlobDetector(), recognizer=WidthRecognizer(), domain=options.domain)

    monkeypatch.setattr(read_cli, "build_ocr", build)
    page = tmp_path / "page.png"
    Image.fromarray(_paper_page()).save(page)
    runner = CliRunner()
    assert runner.invoke(app, ["read", str(page)]).exit_code == 0
    seen[:] = seen[:1]  # the command may build its engine more than once (it is cached per process)
    result = runner.invoke(app, ["read", str(page), "--domain", "scene"])
    assert result.exit_code == 0, result.output
    assert seen[0] == "auto" and set(seen[1:]) == {"scene"}
    assert runner.invoke(app, ["read", str(page), "--domain", "poster"]).exit_code == 2
