"""Photos get the bundled scene detector only when no detector was chosen; documents never load it."""

from __future__ import annotations

import pytest

import textlens.pipeline as pipeline
from textlens.pipeline import OCR


def test_scene_pages_use_the_scene_bundle_with_the_default_detector(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "SCENE_DETECTOR", "east_small")  # any bundled detector stands in for it
    ocr = OCR(threads=1)
    assert ocr._scene_detector is None  # not loaded before the first scene page
    scene = ocr.scene_detector()
    assert scene.name == "east_small" and scene is not ocr.detector
    assert ocr.scene_detector() is scene  # loaded once


def test_a_chosen_detector_reads_photos_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "SCENE_DETECTOR", "east_small")
    ocr = OCR(detector="db_fast", threads=1)
    assert ocr.scene_detector() is ocr.detector


def test_without_the_scene_bundle_photos_use_the_default_detector(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "SCENE_DETECTOR", "no_such_bundle")
    ocr = OCR(threads=1)
    assert ocr.scene_detector() is ocr.detector
