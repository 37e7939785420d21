"""`textlens eval` commands on generated manifests, with fake models injected where a model would load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from typer.testing import CliRunner

import textlens.cli.eval as eval_cli
from textlens.document import Document, Word
from textlens.eval import DIGIT_KEYS, PAGE_KEYS, REC_KEYS
from textlens.layout import page_from_words
from textlens.runtime.base import Recognition

runner = CliRunner()
TRUTHS = ["Hello", "world", "42", "Straße"]
READS = ["Hello", "World", "42", "strasse"]  # one case error, one spelling error


class ShadeReader:
    """Reads a crop's shade (10 × index) as the index of a fixed answer."""

    name = "shade-reader"

    def recognize(self, crops: list[np.ndarray]) -> list[Recognition]:
        return [Recognition(READS[int(c[0, 0, 0]) // 10], 0.8) for c in crops]


@pytest.fixture
def crops(tmp_path: Path) -> Path:
    (tmp_path / "images").mkdir()
    lines = []
    for i, text in enumerate(TRUTHS):
        Image.fromarray(np.full((10, 30, 3), 10 * i, np.uint8)).save(tmp_path / "images" / f"w{i}.png")
        lines.append(json.dumps({"image": f"images/w{i}.png", "text": text}, ensure_ascii=False))
    (tmp_path / "crops.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path / "crops.jsonl"


@pytest.fixture
def pages(tmp_path: Path) -> Path:
    Image.new("RGB", (300, 100), "white").save(tmp_path / "page.png")
    words = [
        {"text": "TOTAL", "box": [10, 10, 60, 30]},
        {"text": "12.00", "box": [200, 10, 250, 30]},
        {"text": "###", "box": [10, 60, 60, 80]},
    ]
    (tmp_path / "pages.jsonl").write_text(json.dumps({"image": "page.png", "words": words}) + "\n")
    return tmp_path / "pages.jsonl"


def _json(args: list[str]) -> dict:
    result = runner.invoke(eval_cli.app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_rec_json_has_exactly_the_documented_keys_and_values(crops: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict = {}

    def fake_load(name: str | None = None, **options: object) -> ShadeReader:
        seen.update(name=name, **options)
        return ShadeReader()

    monkeypatch.setattr(eval_cli, "load_recognizer", fake_load)
    out = _json(["rec", "--manifest", str(crops), "--model", "m1", "--threads", "1", "--json"])
    assert tuple(out) == REC_KEYS
    assert seen == {"name": "m1", "threads": 1}
    assert out["count"] == 4
    assert out["word_acc"] == 0.5
    assert out["word_acc_ci_alnum"] == 0.75  # World = world once folded; straße != strasse
    # edits: W (1) + ß->ss and S->s (3 on "Straße" -> "strasse": S/s, ß/s, +s) over 5 + 5 + 2 + 6
    assert out["cer"] == pytest.approx(round(4 / 18, 6))
    assert out["ms_per_item"] >= 0 and out["init_s"] >= 0


def test_rec_start_and_limit_pick_a_slice(crops: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eval_cli, "load_recognizer", lambda name=None, **kw: ShadeReader())
    out = _json(["rec", "-m", str(crops), "--start", "1", "--limit", "2", "--json"])
    assert out["count"] == 2 and out["word_acc"] == 0.5  # "world" read "World", "42" right
    result = runner.invoke(eval_cli.app, ["rec", "-m", str(crops), "--start", "4"])
    assert result.exit_code == 1 and "no records after the first 4" in result.output


def test_rec_table_errors_and_report(crops: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eval_cli, "load_recognizer", lambda name=None, **kw: ShadeReader())
    result = runner.invoke(
        eval_cli.app,
        [
            "rec",
            "-m",
            str(crops),
            "--limit",
            "2",
            "--errors",
            str(tmp_path / "err.jsonl"),
            "--report",
            str(tmp_path / "rep"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "word accuracy" in result.stdout and "50.00 %" in result.stdout
    misses = [json.loads(line) for line in (tmp_path / "err.jsonl").read_text().splitlines()]
    assert misses == [
        {
            "image": str((tmp_path / "images" / "w1.png").resolve()),
            "truth": "world",
            "pred": "World",
            "ned": 0.8,
            "confidence": 0.8,
        }
    ]
    assert (tmp_path / "rep" / "report.md").is_file() and (tmp_path / "rep" / "report.html").is_file()


def test_missing_manifest_exits_1_naming_it(tmp_path: Path) -> None:
    result = runner.invoke(eval_cli.app, ["rec", "--manifest", str(tmp_path / "nope.jsonl"), "--json"])
    assert result.exit_code == 1
    assert "nope.jsonl" in result.stderr and "not found" in result.stderr


def test_malformed_manifest_line_exits_1_naming_file_and_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "m.jsonl").write_text('{"image": "a.png", "text": "a"}\n{"image": 3}\n')
    monkeypatch.setattr(eval_cli, "load_recognizer", lambda name=None, **kw: ShadeReader())
    result = runner.invoke(eval_cli.app, ["rec", "--manifest", str(tmp_path / "m.jsonl")])
    assert result.exit_code == 1
    assert "m.jsonl:2" in result.stderr


def test_missing_model_is_a_clear_error(crops: Path) -> None:
    result = runner.invoke(eval_cli.app, ["rec", "--manifest", str(crops), "--model", "no-such-model"])
    assert result.exit_code == 1
    assert "no-such-model" in result.stderr


def test_score_crops_from_a_prediction_file(crops: Path, tmp_path: Path) -> None:
    preds = [{"image": f"images/w{i}.png", "pred": p} for i, p in enumerate(READS)]
    (tmp_path / "pred.jsonl").write_text("".join(json.dumps(p) + "\n" for p in preds))
    out = _json(["score", "--manifest", str(crops), "--pred", str(tmp_path / "pred.jsonl"), "--json"])
    assert tuple(out) == REC_KEYS
    assert (out["count"], out["word_acc"], out["word_acc_ci_alnum"]) == (4, 0.5, 0.75)
    assert out["ms_per_item"] is None and out["init_s"] is None  # nothing was run, nothing timed


def test_score_counts_a_missing_prediction_as_empty(crops: Path, tmp_path: Path) -> None:
    (tmp_path / "pred.jsonl").write_text('{"image": "w0.png", "pred": "Hello"}\n')  # matched by file name
    result = runner.invoke(eval_cli.app, ["score", "-m", str(crops), "--pred", str(tmp_path / "pred.jsonl"), "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["word_acc"] == 0.25
    assert "3 manifest images have no prediction" in result.stderr


def test_score_pages_at_word_level_splits_predicted_lines(pages: Path, tmp_path: Path) -> None:
    pred = {
        "image": "page.png",
        "words": [
            {"text": "TOTAL", "box": [10, 10, 60, 30]},
            {"text": "12.0O", "box": [200, 10, 250, 30]},
            {"text": "junk", "box": [10, 60, 60, 80]},  # inside the ### region: dropped
            {"text": "extra word", "box": [100, 60, 200, 80]},  # a line: split into two false alarms
        ],
    }
    (tmp_path / "pred.jsonl").write_text(json.dumps(pred) + "\n")
    out = _json(["score", "-m", str(pages), "--pred", str(tmp_path / "pred.jsonl"), "--level", "word", "--json"])
    assert tuple(out) == PAGE_KEYS
    assert out["pages"] == 1
    assert (out["det_precision"], out["det_recall"]) == (0.5, 1.0)
    assert (out["e2e_precision"], out["e2e_recall"]) == (0.25, 0.5)
    assert out["s_per_page"] is None


def test_score_rejects_crop_predictions_for_page_manifests(pages: Path, tmp_path: Path) -> None:
    (tmp_path / "pred.jsonl").write_text('{"image": "page.png", "pred": "TOTAL"}\n')
    result = runner.invoke(eval_cli.app, ["score", "-m", str(pages), "--pred", str(tmp_path / "pred.jsonl")])
    assert result.exit_code == 1
    assert "pred.jsonl:1" in result.stderr and "'words'" in result.stderr


def test_score_labels_prints_digit_keys(tmp_path: Path) -> None:
    for i in range(4):
        Image.new("RGB", (8, 8)).save(tmp_path / f"d{i}.png")
    (tmp_path / "d.jsonl").write_text(
        "".join(json.dumps({"image": f"d{i}.png", "label": str(i)}) + "\n" for i in range(4))
    )
    (tmp_path / "p.jsonl").write_text(
        "".join(json.dumps({"image": f"d{i}.png", "pred": str(min(i, 2))}) + "\n" for i in range(4))
    )
    out = _json(["score", "-m", str(tmp_path / "d.jsonl"), "--pred", str(tmp_path / "p.jsonl"), "--json"])
    assert out == {"count": 4, "accuracy": 0.75, "error": 0.25}
    assert tuple(out) == DIGIT_KEYS


def test_page_command_scores_the_pipeline(pages: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def reader(image: np.ndarray) -> Document:
        words = [Word("TOTAL", (10, 10, 60, 30)), Word("12.00", (200, 10, 250, 30))]
        return Document(pages=(page_from_words(words, 300, 100),))

    monkeypatch.setattr(eval_cli, "load_page_reader", lambda detector, recognizer, threads, domain="auto": reader)
    out = _json(["page", "-m", str(pages), "--json"])
    assert tuple(out) == PAGE_KEYS
    assert (out["det_f1"], out["e2e_f1"], out["e2e_ci_f1"], out["bow_f1"], out["page_cer"]) == (1, 1, 1, 1, 0)
    assert out["peak_rss_mb"] > 0


def test_page_command_rejects_an_unknown_level(pages: Path) -> None:
    result = runner.invoke(eval_cli.app, ["page", "-m", str(pages), "--level", "char"])
    assert result.exit_code == 2 and "char" in result.output


def test_digits_with_an_unknown_model_says_so(tmp_path: Path) -> None:
    Image.new("RGB", (8, 8)).save(tmp_path / "d.png")
    (tmp_path / "d.jsonl").write_text('{"image": "d.png", "label": "3"}\n')
    result = runner.invoke(eval_cli.app, ["digits", "-m", str(tmp_path / "d.jsonl"), "--model", "no_such_model"])
    assert result.exit_code == 1
    assert "no_such_model" in result.stderr


def test_digits_runs_the_bundled_ram_model(tmp_path: Path) -> None:
    for i, digit in enumerate("17"):
        image = Image.new("L", (28, 28), 0)
        ImageDraw.Draw(image).text((9, 6), digit, fill=255)
        image.save(tmp_path / f"d{i}.png")
    (tmp_path / "d.jsonl").write_text('{"image": "d0.png", "label": "1"}\n{"image": "d1.png", "label": "7"}\n')
    out = _json(["digits", "-m", str(tmp_path / "d.jsonl"), "--model", "ram_mnist", "--json"])
    assert out["count"] == 2 and out["accuracy"] + out["error"] == pytest.approx(1.0)


def test_digits_with_an_injected_classifier(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Image.new("RGB", (8, 8)).save(tmp_path / "d.png")
    (tmp_path / "d.jsonl").write_text('{"image": "d.png", "label": "3"}\n{"image": "d.png", "label": "5"}\n')
    monkeypatch.setattr(eval_cli, "load_classifier", lambda name: lambda image: "3")
    out = _json(["digits", "-m", str(tmp_path / "d.jsonl"), "--model", "x", "--json"])
    assert out == {"count": 2, "accuracy": 0.5, "error": 0.5}
