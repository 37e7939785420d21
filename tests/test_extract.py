"""`textlens extract` and `textlens.extract`: rules, the receipt extractor on synthetic receipts, training, the
registry, JSON round trips and the CLI (fixtures are generated here: no shared data)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from textlens.cli import extract as extract_cli
from textlens.cli.app import app
from textlens.document import Document
from textlens.errors import ConfigError, MissingWeights
from textlens.extract import Extraction, Field, extract, get_extractor, list_tasks, register_extractor
from textlens.extract.lexicon import correct_text
from textlens.extract.receipt import ReceiptExtractor
from textlens.extract.rules import find_amounts, find_currency, find_dates, parse_amount, parse_date
from textlens.extract.score import score_fields
from textlens.extract.synthetic import synthetic_receipt
from textlens.extract.train import evaluate_extractor, line_labels, train_receipt, write_bundle

runner = CliRunner()


@pytest.mark.parametrize(
    ("text", "raw", "iso"),
    [
        ("DATE: 25/12/2018 8:13:39 PM", "25/12/2018", "2018-12-25"),
        ("12-01-19 21:13 T01", "12-01-19", "2019-01-12"),
        ("12/28/2017", "12/28/2017", "2017-12-28"),  # the day cannot be a month: month first
        ("Date 2018-03-23", "2018-03-23", "2018-03-23"),
        ("20180304", "20180304", "2018-03-04"),
        ("05 MAR 2018 10:00", "05 MAR 2018", "2018-03-05"),
        ("22 Mar 18", "22 MAR 18", "2018-03-22"),
        ("MAR 5, 2018", "MAR 5, 2018", "2018-03-05"),
        ("9/3/2018", "9/3/2018", "2018-03-09"),
    ],
)
def test_dates_are_found_as_printed_and_normalised_to_iso(text: str, raw: str, iso: str) -> None:
    found = find_dates(text)
    assert [(d.raw, d.iso) for d in found] == [(raw, iso)]
    assert parse_date(text) == iso


@pytest.mark.parametrize("text", ["31/02/2018", "12:30:45", "TEL 07-1234567", "INV 13/45/2018", "no date"])
def test_impossible_or_absent_dates_are_not_dates(text: str) -> None:
    assert find_dates(text) == []


@pytest.mark.parametrize(
    ("text", "raw", "value", "currency"),
    [
        ("TOTAL RM 33.92", "33.92", Decimal("33.92"), "MYR"),
        ("$8.20", "8.20", Decimal("8.20"), "USD"),
        ("RM4.00", "4.00", Decimal("4.00"), "MYR"),
        ("GRAND TOTAL 1,234.56", "1,234.56", Decimal("1234.56"), None),
        ("SUMME 3,50", "3,50", Decimal("3.50"), None),
        ("EUR 12.00", "12.00", Decimal("12.00"), "EUR"),
    ],
)
def test_amounts_are_decimals_with_their_currency(text: str, raw: str, value: Decimal, currency: str | None) -> None:
    (found,) = find_amounts(text)
    assert (found.raw, found.value, found.currency) == (raw, value, currency)
    assert parse_amount(text) == value


def test_numbers_without_two_decimals_are_not_amounts() -> None:
    assert find_amounts("QTY 2 ITEM 9551234567890 12.5 8:13") == []
    assert find_currency("TOTAL (RM): 9.00") == ("MYR", "RM")


def test_lexicon_corrects_one_edit_from_an_address_word_only() -> None:
    assert correct_text("KAWASAN PERINOUSTRIAN, SELANGUR.") == "KAWASAN PERINDUSTRIAN, SELANGOR."
    assert correct_text("NO. 12, JALAN BESAR") == "NO. 12, JALAN BESAR"
    assert correct_text("ZXQWV BAHRU") == "ZXQWV BAHRU"


@pytest.mark.parametrize("seed", range(8))
def test_bundled_receipt_extractor_reads_synthetic_receipts(seed: int) -> None:
    _, document, truth = synthetic_receipt(seed)
    result = get_extractor("receipt").extract(document)
    assert result.raw() == {**truth, "currency": "RM"}
    assert result.fields["date"].value == parse_date(truth["date"])
    assert result.fields["total"].value == str(Decimal(truth["total"]))
    assert result.fields["currency"].value == "MYR"
    for name in ("company", "date", "address", "total"):
        field = result.fields[name]
        assert 0 < field.confidence <= 1 and field.boxes
        words = [w for w in document.pages[0].words if w.box in field.boxes]
        assert " ".join(w.text for w in words) == truth[name]  # the boxes are the words the value came from


def test_extraction_json_round_trip() -> None:
    _, document, _ = synthetic_receipt(1)
    result = extract(document, task="receipt")
    data = json.loads(json.dumps(result.to_dict()))
    assert set(data["fields"]) == {"company", "date", "address", "total", "currency"}
    assert Extraction.from_dict(data).raw() == result.raw()
    assert data["fields"]["total"]["boxes"] and data["task"] == "receipt"


def test_an_empty_document_gives_empty_fields() -> None:
    result = get_extractor("receipt").extract(Document(pages=()))
    assert all(not f.found and f.confidence == 0 for f in result.fields.values())


def test_registry_names_tasks_and_accepts_new_ones() -> None:
    assert "receipt" in list_tasks()
    with pytest.raises(ConfigError, match="unknown extraction task 'nope'"):
        get_extractor("nope")

    class Plate:
        task, fields = "plate_test", ("plate",)

        def extract(self, document: Document) -> Extraction:
            return Extraction(self.task, {"plate": Field("plate", "AB12CDE", "AB12 CDE", 0.9)})

    register_extractor("plate_test", Plate)
    assert get_extractor("plate_test").extract(Document(pages=())).raw() == {"plate": "AB12 CDE"}


def test_training_on_synthetic_receipts_learns_the_fields(tmp_path: Path) -> None:
    docs, keys = zip(*[synthetic_receipt(seed)[1:] for seed in range(30)], strict=True)
    lines = docs[0].pages[0].lines
    classes = line_labels(lines, keys[0])
    assert [ln.text for ln, c in zip(lines, classes, strict=True) if c == 1] == [keys[0]["company"]]
    trained = train_receipt(docs[:24], keys[:24], steps=150)
    write_bundle(tmp_path / "tiny", trained, {"train": {"records": "synthetic"}})
    config = json.loads((tmp_path / "tiny" / "config.json").read_text())
    assert config["family"] == "extraction" and config["task"] == "receipt"
    with np.load(tmp_path / "tiny" / "weights.npz", allow_pickle=False) as arrays:  # plain arrays, no pickles
        assert {"lines_weights", "totals_weights"} <= set(arrays.files)
    scores = evaluate_extractor(ReceiptExtractor(tmp_path / "tiny"), docs[24:], keys[24:])
    assert scores["f1"] >= 0.95


def test_a_missing_model_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MissingWeights, match="no receipt model"):
        ReceiptExtractor(tmp_path)


def test_scores_follow_the_sroie_rule() -> None:
    truth = {"company": "A B", "date": "1/1/2018", "address": "X", "total": "9.00"}
    pred = {"company": "A  B", "date": "1/1/2018", "address": "x", "total": ""}
    s = score_fields([(pred, truth)], ("company", "date", "address", "total"))
    assert s["company"] == 1 and s["address"] == 0 and s["total"] == 0  # whitespace collapsed, case kept
    assert s["precision"] == pytest.approx(2 / 3) and s["recall"] == pytest.approx(2 / 4)


class _FakeOCR:
    """Returns the synthetic receipt of seed 2 for any input: the command's mechanics are under test."""

    def read(self, path: Path) -> Document:
        if "broken" in str(path):
            raise ValueError("cannot read")
        return synthetic_receipt(2)[1]


@pytest.fixture
def fake_engines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extract_cli, "_engines", lambda options: (_FakeOCR(), get_extractor(options.task)))


def _image(path: Path) -> Path:
    Image.fromarray(np.full((40, 40, 3), 255, dtype=np.uint8)).save(path)
    return path


def test_cli_writes_one_json_per_input(tmp_path: Path, fake_engines: None) -> None:
    inputs = [str(_image(tmp_path / f"r{i}.png")) for i in range(2)]
    result = runner.invoke(app, ["extract", "receipt", *inputs, "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["r0.json", "r1.json"]
    data = json.loads((tmp_path / "out" / "r0.json").read_text())
    assert data["task"] == "receipt" and data["source"].endswith("r0.png")
    assert data["fields"]["total"]["raw"] == synthetic_receipt(2)[2]["total"]


def test_cli_prints_json_to_stdout_and_reports_failures(tmp_path: Path, fake_engines: None) -> None:
    good = _image(tmp_path / "good.png")
    result = runner.invoke(app, ["extract", "receipt", str(good)])
    assert result.exit_code == 0 and json.loads(result.stdout)["fields"]["company"]["raw"]
    bad = _image(tmp_path / "broken.png")
    result = runner.invoke(app, ["extract", "receipt", str(good), str(bad), "-o", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert (tmp_path / "o" / "good.json").is_file() and not (tmp_path / "o" / "broken.json").exists()


def test_eval_extract_scores_a_manifest_from_cached_documents(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    lines = []
    for seed in range(3):
        image, document, truth = synthetic_receipt(seed)
        Image.fromarray(image).save(tmp_path / f"{seed}.png")
        (cache / f"{seed}.json").write_text(json.dumps({"document": document.to_dict()}))
        words = [{"text": w.text, "box": list(w.box)} for w in document.pages[0].words]
        lines.append(json.dumps({"image": f"{seed}.png", "words": words, "key": truth}))
    (tmp_path / "m.jsonl").write_text("\n".join(lines) + "\n")
    args = ["eval", "extract", "--task", "receipt", "-m", str(tmp_path / "m.jsonl"), "--cache", str(cache), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert scores["f1"] == scores["company"] == scores["total"] == 1.0 and scores["count"] == 3
    assert {"precision", "recall", "date", "address", "extract_s_per_page"} <= set(scores)


def test_receipt_from_a_synthetic_image_through_the_bundled_ocr() -> None:
    """End to end: pixels → textlens.OCR → extraction (the bundled detector and recogniser read clean print)."""
    pytest.importorskip("onnxruntime")
    from textlens.models.bundle import list_bundles
    from textlens.pipeline import OCR

    if not {"db_fast", "crnn_fast"} <= {b.name for b in list_bundles()}:
        pytest.skip("the default OCR models are not bundled")
    image, _, truth = synthetic_receipt(5)
    result = extract(image, task="receipt", ocr=OCR(threads=1))
    assert {k: result.raw()[k] for k in ("date", "total")} == {"date": truth["date"], "total": truth["total"]}
    assert result.fields["company"].raw == truth["company"]
