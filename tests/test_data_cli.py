"""`textlens data`: formats listing, conversion to the manifest (files copied, crops cut) and sheets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from textlens.cli.data import app
from textlens.data.manifest import read_manifest

runner = CliRunner()


def make_icdar2015(folder: Path) -> Path:
    folder.mkdir(parents=True)
    image = np.full((80, 120, 3), 255, np.uint8)
    image[10:30, 10:60] = 0
    Image.fromarray(image).save(folder / "img_1.jpg", quality=90)
    (folder / "gt_img_1.txt").write_bytes(
        "\ufeff10,10,60,10,60,30,10,30,Hello\n70,40,110,45,108,60,68,55,tilted\n1,1,5,1,5,5,1,5,###\n".encode("utf-8")
    )
    return folder


def test_formats_lists_readers_with_their_sample_type() -> None:
    result = runner.invoke(app, ["formats"], terminal_width=200)
    assert result.exit_code == 0
    assert "icdar2015" in result.output and "mnist" in result.output and "label" in result.output


def test_convert_copies_page_images_byte_for_byte(tmp_path: Path) -> None:
    src = make_icdar2015(tmp_path / "ic15")
    out = tmp_path / "out"
    result = runner.invoke(app, ["convert", "--from", "icdar2015", str(src), "--to", "manifest", str(out)])
    assert result.exit_code == 0, result.output
    (record,) = read_manifest(out / "manifest.jsonl")
    assert record.kind == "page" and record.image.suffix == ".jpg"
    assert record.image.read_bytes() == (src / "img_1.jpg").read_bytes()
    assert [w.text for w in record.words] == ["Hello", "tilted", "###"]
    assert record.words[2].is_dont_care and record.words[1].polygon is not None


def test_convert_with_crops_cuts_words_and_skips_dont_care(tmp_path: Path) -> None:
    src = make_icdar2015(tmp_path / "ic15")
    out = tmp_path / "crops"
    result = runner.invoke(app, ["convert", "-f", "ic15", str(src), str(out), "--crops"])
    assert result.exit_code == 0, result.output
    records = read_manifest(out / "manifest.jsonl")
    assert [(r.kind, r.text) for r in records] == [("crop", "Hello"), ("crop", "tilted")]
    hello = records[0].load_image()
    assert hello.shape[:2] == (20, 50) and hello.mean() < 60  # the dark word region, nothing else
    lines = (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0]) == {"image": "images/00000000.png", "text": "Hello"}


def test_convert_writes_in_memory_label_images_as_png(tmp_path: Path) -> None:
    from scipy.io import savemat

    savemat(
        tmp_path / "train_32x32.mat", {"X": np.zeros((32, 32, 3, 2), np.uint8), "y": np.array([[10], [4]], np.uint8)}
    )
    out = tmp_path / "svhn"
    result = runner.invoke(
        app, ["convert", "--from", "svhn_cropped", str(tmp_path / "train_32x32.mat"), str(out), "--limit", "1"]
    )
    assert result.exit_code == 0, result.output
    (record,) = read_manifest(out / "manifest.jsonl")
    assert record.label == "0" and record.image.suffix == ".png" and record.load_image().shape == (32, 32, 3)


def test_convert_reports_a_malformed_annotation_with_file_and_line(tmp_path: Path) -> None:
    src = make_icdar2015(tmp_path / "ic15")
    (src / "gt_img_1.txt").write_text("1,2,3\n", encoding="utf-8")
    result = runner.invoke(app, ["convert", "--from", "icdar2015", str(src), str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "gt_img_1.txt:1:expected8coordinates" in "".join(result.output.split())  # rich may wrap
    assert not (tmp_path / "out" / "manifest.jsonl").exists()


def test_unknown_format_and_bad_option_are_usage_errors(tmp_path: Path) -> None:
    result = runner.invoke(app, ["convert", "--from", "nope", str(tmp_path), str(tmp_path / "o")])
    assert result.exit_code == 2 and "unknown dataset format" in result.output
    src = make_icdar2015(tmp_path / "ic15")
    result = runner.invoke(
        app, ["convert", "--from", "icdar2015", str(src), str(tmp_path / "o"), "--opt", "colour=red"]
    )
    assert result.exit_code == 2 and "bad --opt" in result.output


def test_show_draws_a_sheet_from_a_manifest(tmp_path: Path) -> None:
    src = make_icdar2015(tmp_path / "ic15")
    out = tmp_path / "m"
    assert runner.invoke(app, ["convert", "--from", "icdar2015", str(src), str(out)]).exit_code == 0
    sheet = tmp_path / "sheet.png"
    result = runner.invoke(app, ["show", str(out / "manifest.jsonl"), "-o", str(sheet), "--limit", "4", "--cols", "2"])
    assert result.exit_code == 0, result.output
    with Image.open(sheet) as im:
        assert im.width == 192  # one page: one column of the default cell width
    crops_sheet = tmp_path / "crops.png"
    result = runner.invoke(
        app,
        [
            "show",
            str(src),
            "--format",
            "icdar2015",
            "--crops",
            "-o",
            str(crops_sheet),
            "--cols",
            "2",
            "--cell-width",
            "100",
        ],
    )
    assert result.exit_code == 0, result.output
    with Image.open(crops_sheet) as im:
        assert im.width == 200  # two crops side by side


def test_show_of_a_missing_manifest_fails_cleanly(tmp_path: Path) -> None:
    result = runner.invoke(app, ["show", str(tmp_path / "none.jsonl"), "-o", str(tmp_path / "s.png")])
    assert result.exit_code == 1 and "not found" in result.output
    assert not (tmp_path / "s.png").exists()
