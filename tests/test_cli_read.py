"""`textlens read` batches: every good input is written, every bad one reported, exit codes as documented."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from tests.bad_inputs import make_bad_corpus
from tests.fakes import InkBlobDetector, WidthRecognizer
from textlens.cli import read as read_cli
from textlens.cli.app import app
from textlens.document import Block, Document, Line, Page, Word
from textlens.pipeline import OCR

runner = CliRunner()


@pytest.fixture(autouse=True)
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """The read command with stand-in models: the batch mechanics are under test, not the models."""
    monkeypatch.setattr(
        read_cli, "build_ocr", lambda options: OCR(detector=InkBlobDetector(), recognizer=WidthRecognizer())
    )


def good_page(path: Path) -> Path:
    image = np.full((80, 240, 3), 255, dtype=np.uint8)
    image[20:40, 20:200] = 0
    Image.fromarray(image).save(path)
    return path


def test_single_input_prints_text_to_stdout(tmp_path: Path) -> None:
    result = runner.invoke(app, ["read", str(good_page(tmp_path / "page.png"))])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "aaaaa bbbbb"


def test_batch_with_bad_inputs_writes_every_good_output_and_exits_1(tmp_path: Path) -> None:
    good = [good_page(tmp_path / f"good{i}.png") for i in range(3)]
    bad = [path for path, _ in make_bad_corpus(tmp_path / "bad")]
    out = tmp_path / "out"
    result = runner.invoke(app, ["read", *map(str, good + bad), "-o", str(out), "--format", "json,text"])
    assert result.exit_code == 1, result.output
    for path in good:
        doc = json.loads((out / f"{path.stem}.json").read_text())
        assert doc["pages"][0]["blocks"][0]["lines"][0]["words"][0]["text"] == "aaaaa"
        assert (out / f"{path.stem}.txt").read_text().strip() == "aaaaa bbbbb"
    # Every bad input is named in the report, none of them left an output or a temp file.
    for path in bad:
        assert path.name in result.output
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted([f"{p.stem}.json" for p in good] + [f"{p.stem}.txt" for p in good])
    assert f"{len(good)} done, {len(bad)} failed" in result.output


def test_folder_input_is_searched_and_outputs_mirror_its_subfolders(tmp_path: Path) -> None:
    folder = tmp_path / "scans"
    (folder / "sub").mkdir(parents=True)
    good_page(folder / "a.png")
    good_page(folder / "sub" / "b.png")
    (folder / "notes.txt").write_text("not an image")
    result = runner.invoke(app, ["read", str(folder), "-o", str(tmp_path / "out"), "-f", "hocr"])
    assert result.exit_code == 0, result.output
    written = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert written == ["a.hocr", "sub/b.hocr"]


def test_glob_input_and_jobs(tmp_path: Path) -> None:
    for i in range(3):
        good_page(tmp_path / f"p{i}.png")
    result = runner.invoke(
        app, ["read", str(tmp_path / "p*.png"), "-o", str(tmp_path / "o"), "-f", "tsv", "--jobs", "2"]
    )
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "o").glob("*.tsv"))) == 3


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    page = str(good_page(tmp_path / "page.png"))
    assert runner.invoke(app, ["read", page, "--format", "docx"]).exit_code == 2
    assert runner.invoke(app, ["read", page, "--format", "pdf"]).exit_code == 2
    assert runner.invoke(app, ["read"]).exit_code == 2


def test_missing_input_alone_exits_1_with_its_name(tmp_path: Path) -> None:
    result = runner.invoke(app, ["read", str(tmp_path / "ghost.png")])
    assert result.exit_code == 1
    assert "ghost.png" in result.output


def test_several_formats_or_a_trailing_slash_make_the_output_a_folder(tmp_path: Path) -> None:
    page = str(good_page(tmp_path / "page.png"))
    result = runner.invoke(app, ["read", page, "-o", str(tmp_path / "many"), "-f", "text,hocr"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "many").iterdir()) == ["page.hocr", "page.txt"]
    result = runner.invoke(app, ["read", page, "-o", str(tmp_path / "slash") + "/", "-f", "json"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "slash" / "page.json").is_file()
    result = runner.invoke(app, ["read", page, "-o", str(tmp_path / "one.tsv"), "-f", "tsv"])
    assert result.exit_code == 0 and (tmp_path / "one.tsv").read_text().startswith("level\tpage_num")


class _HyphenatedOCR:
    """Stands in for OCR: every input reads as two lines broken inside "information"."""

    def read(self, source: object, **options: object) -> Document:
        words = [
            Word("the", (10, 10, 50, 30)),
            Word("infor-", (60, 10, 130, 30)),
            Word("mation", (10, 50, 90, 70)),
            Word("is", (100, 50, 120, 70)),
        ]
        lines = (Line(tuple(words[:2])), Line(tuple(words[2:])))
        return Document(pages=(Page(width=200, height=100, blocks=(Block(lines),)),))


def test_text_output_joins_hyphenated_line_ends_unless_told_not_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(read_cli, "build_ocr", lambda options: _HyphenatedOCR())
    page = str(good_page(tmp_path / "page.png"))
    result = runner.invoke(app, ["read", page])
    assert result.exit_code == 0, result.output
    assert result.stdout == "the information\nis\n"
    result = runner.invoke(app, ["read", page, "--no-dehyphenate"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "the infor-\nmation is\n"
    result = runner.invoke(app, ["read", page, "-o", str(tmp_path / "out") + "/", "-f", "json,text"])
    assert result.exit_code == 0, result.output
    words = [
        w["text"]
        for b in json.loads((tmp_path / "out" / "page.json").read_text())["pages"][0]["blocks"]
        for ln in b["lines"]
        for w in ln["words"]
    ]
    assert words == ["the", "infor-", "mation", "is"]  # geometry outputs keep the words as read
    assert (tmp_path / "out" / "page.txt").read_text() == "the information\nis\n"
