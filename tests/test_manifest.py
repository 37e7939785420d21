"""The shared JSONL manifest: reading every record kind, clear errors, atomic writing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from textlens.data.manifest import ManifestWriter, read_manifest, write_manifest
from textlens.data.samples import CropSample, PageSample, WordAnnotation
from textlens.errors import AnnotationError, FileNotFound


def test_reads_crops_pages_and_labels(tmp_path: Path) -> None:
    lines = [
        {"image": "a.png", "text": "Tiredness"},
        {
            "image": "p.png",
            "words": [
                {"text": "TOTAL", "box": [1, 2, 30, 12]},
                {"text": "###", "poly": [[0, 0], [5, 0], [5, 5], [0, 5]]},
                {"text": "x", "box": [0, 0, 1, 1], "ignore": True, "label": "answer"},
            ],
        },
        {"image": "d.png", "label": "7"},
    ]
    path = tmp_path / "manifest.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n")
    crop, page, label = read_manifest(path)
    assert crop.kind == "crop" and crop.text == "Tiredness" and crop.image == tmp_path / "a.png"
    assert page.kind == "page" and page.words[1].box == (0, 0, 5, 5)
    assert page.words[1].is_dont_care and page.words[2].is_dont_care and not page.words[0].is_dont_care
    assert page.words[2].extra == {"label": "answer"}
    assert label.kind == "label" and label.label == "7"
    assert len(read_manifest(path, limit=2)) == 2
    assert [r.kind for r in read_manifest(path, start=1)] == ["page", "label"]
    assert [r.kind for r in read_manifest(path, limit=1, start=1)] == ["page"]
    assert read_manifest(path, start=5) == []


@pytest.mark.parametrize(
    "line, message",
    [
        ("{not json", "not valid JSON"),
        ('{"text": "no image"}', "'image' path"),
        ('{"image": "a.png"}', "needs 'text', 'words' or 'label'"),
        ('{"image": "a.png", "words": [{"box": [0, 0, 1, 1]}]}', "'text' field"),
        ('{"image": "a.png", "words": [{"text": "a", "box": [0, 0, 1]}]}', "'box' must be"),
    ],
)
def test_malformed_lines_name_the_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"image": "ok.png", "text": "fine"}\n' + line + "\n")
    with pytest.raises(AnnotationError, match=message) as info:
        read_manifest(path)
    assert f"{path}:2" in str(info.value)


def test_missing_manifest_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFound, match="manifest not found"):
        read_manifest(tmp_path / "nope.jsonl")


def test_writer_saves_images_and_round_trips(tmp_path: Path) -> None:
    image = np.full((8, 20, 3), 200, dtype=np.uint8)
    with ManifestWriter(tmp_path / "out") as writer:
        writer.add(CropSample(image=image, text="héllo"))
        writer.add(PageSample(image=image, words=(WordAnnotation("a", (1, 1, 5, 5), ignore=True),)))
    records = read_manifest(tmp_path / "out" / "manifest.jsonl")
    assert records[0].text == "héllo"
    assert np.array_equal(records[0].load_image(), image)
    assert records[1].words[0].ignore
    raw = (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()
    assert json.loads(raw[0])["image"] == "images/00000000.png"
    write_manifest(tmp_path / "copy.jsonl", records)
    assert [r.text for r in read_manifest(tmp_path / "copy.jsonl")] == ["héllo", None]
    assert not list(tmp_path.glob(".*.tmp"))
