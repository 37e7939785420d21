"""Tests for ``textlens synth``: lines as a manifest or LMDB, pages as a manifest, clear errors."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from textlens.cli.synth import app
from textlens.data.lmdb_store import LmdbReader
from textlens.data.manifest import read_manifest

runner = CliRunner()


def test_lines_writes_a_crop_manifest(tmp_path: Path) -> None:
    result = runner.invoke(app, ["lines", "--count", "3", "--out", str(tmp_path), "--preset", "scan"])
    assert result.exit_code == 0, result.output
    records = read_manifest(tmp_path / "manifest.jsonl")
    assert len(records) == 3 and all(r.kind == "crop" and r.text for r in records)
    assert records[0].load_image().shape[0] == 32


def test_lines_writes_lmdb(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["lines", "-n", "2", "-o", str(tmp_path / "db"), "--format", "lmdb", "--charset", "digits"]
    )
    assert result.exit_code == 0, result.output
    reader = LmdbReader(tmp_path / "db")
    assert len(reader) == 2 and reader[0].text.replace(" ", "").isdigit()


def test_pages_writes_a_page_manifest_with_line_ids(tmp_path: Path) -> None:
    result = runner.invoke(app, ["pages", "-n", "1", "-o", str(tmp_path), "--kind", "receipt"])
    assert result.exit_code == 0, result.output
    (record,) = read_manifest(tmp_path / "manifest.jsonl")
    assert record.kind == "page" and record.words
    assert all(isinstance(w.extra["line"], int) and w.polygon for w in record.words)


def test_unknown_font_is_reported(tmp_path: Path) -> None:
    result = runner.invoke(app, ["lines", "-n", "1", "-o", str(tmp_path), "--fonts", "No Such Font"])
    assert result.exit_code == 2
    assert "no installed font" in result.output
