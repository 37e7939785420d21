"""Forms → entities and question→answer links: the model trained and scored on synthetic form pages generated
here (no shared data), the metric, the extraction's JSON, the registry and the CLI (train, eval, extract)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from textlens.cli import extract as extract_cli
from textlens.cli.app import app
from textlens.document import Document, Word
from textlens.errors import MissingWeights
from textlens.extract import get_extractor, list_tasks
from textlens.extract.form import DEFAULT_BUNDLE, LABELS, Entity, FormExtractor, FormResult, neighbours_of
from textlens.extract.form_train import (
    COLUMN_THRESHOLDS,
    LINK_THRESHOLDS,
    ROW_THRESHOLDS,
    evaluate_form,
    labelled_page,
    score_forms,
    train_form,
    write_form_bundle,
)
from textlens.layout import page_from_words

runner = CliRunner()
KEYS = ("Name", "Date", "Phone", "Address", "Account", "Number", "Signature", "Total", "Company", "Reference", "Fax",
        "Title", "Department", "Code")  # fmt: skip
VALUES = ("Smith", "John", "12/03/94", "555-0192", "Acme", "Corp.", "Main", "Street", "42", "A-17", "yes", "Lee",
          "Boston", "$12.50", "R&D", "Brown")  # fmt: skip
CHAR_W, WORD_H = 9.0, 14.0


def synthetic_form(seed: int) -> dict[str, Any]:
    """A FUNSD-style record: a header in capitals, question: answer rows (answer to the right, or under the
    question), a page number; words with entity_id and label, entities with their links."""
    rng = random.Random(seed)
    words: list[dict[str, Any]] = []
    entities: list[dict[str, Any]] = []

    def put(tokens: list[str], x: float, y: float, label: str, h: float = WORD_H) -> tuple[int, float]:
        eid = len(entities)
        for t in tokens:
            w = CHAR_W * len(t) * h / WORD_H
            words.append({"text": t, "box": [x, y, x + w, y + h], "entity_id": eid, "label": label})
            x += w + 0.4 * h
        entities.append({"id": eid, "label": label, "text": " ".join(tokens), "linking": []})
        return eid, x

    header = [
        rng.choice(("REQUEST", "FORM", "APPROVAL", "REPORT", "ORDER", "QUALITY")) for _ in range(rng.randint(2, 4))
    ]
    put(header, 250.0, 40.0, "header", h=22.0)
    y = 110.0
    for _ in range(rng.randint(5, 9)):
        x = rng.uniform(40, 80)
        q = rng.sample(KEYS, rng.randint(1, 2))
        q[-1] += ":"
        qid, qx = put(q, x, y, "question")
        a = rng.sample(VALUES, rng.randint(1, 3))
        if rng.random() < 0.3:
            aid, _ = put(a, x + rng.uniform(0, 10), y + 1.8 * WORD_H, "answer")
            y += 1.8 * WORD_H
        else:
            aid, _ = put(a, qx + rng.uniform(25, 60), y, "answer")
        entities[qid]["linking"].append([qid, aid])
        entities[aid]["linking"].append([qid, aid])
        y += rng.uniform(2.8, 4.0) * WORD_H
    put(["Page", str(rng.randint(1, 9))], 380.0, 960.0, "other")
    return {"image": f"form{seed}.png", "width": 800, "height": 1000, "words": words, "entities": entities}


def document_of(record: dict[str, Any]) -> Document:
    words = [Word(w["text"], tuple(w["box"]), 0.9) for w in record["words"]]  # type: ignore[arg-type]
    return Document(pages=(page_from_words(words, record["width"], record["height"]),))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("form") / "form_test"
    trained = train_form([labelled_page(synthetic_form(s)) for s in range(40)], l2=0.01, steps=300)
    write_form_bundle(folder, trained, {"train": {"records": "synthetic 0:40"}})
    return folder


def test_labelled_page_orients_links_and_drops_empty_words() -> None:
    record = {
        "width": 100, "height": 100,
        "words": [{"text": "Date:", "box": [0, 0, 40, 10], "entity_id": 0, "label": "question"},
                  {"text": " ", "box": [45, 0, 50, 10], "entity_id": 2, "label": "other"},
                  {"text": "1/2/93", "box": [50, 0, 90, 10], "entity_id": 1, "label": "answer"}],
        "entities": [{"id": 0, "label": "question", "linking": [[1, 0]]},
                     {"id": 1, "label": "answer", "linking": [[1, 0]]},
                     {"id": 2, "label": "other", "linking": []}],
    }  # fmt: skip
    page = labelled_page(record)
    assert [w.text for w in page.words] == ["Date:", "1/2/93"]
    assert page.groups == [(0,), (1,)] and [LABELS[i] for i in page.labels] == ["question", "answer"]
    assert page.links == {(0, 1)}  # answer→question written as question→answer; the empty entity is gone


def test_neighbours_link_rows_and_columns() -> None:
    words = [Word("Name:", (0, 0, 45, 14)), Word("Smith", (60, 0, 105, 14)), Word("Lee", (0, 25, 27, 39))]
    nb = neighbours_of(words)
    assert nb.right[0] == 1 and nb.left[1] == 0 and nb.above[2] == 0 and nb.below[0] == 2
    assert {(a, b, k) for a, b, k in nb.edges} == {(0, 1, 0), (0, 2, 1)}


def test_score_forms_counts_exact_words_and_labels() -> None:
    page = labelled_page(synthetic_form(1))
    words = page.words
    perfect = FormResult(words, [Entity(g, lab) for g, lab in zip(page.groups, page.labels, strict=True)],
                         [(q, a, 1.0) for q, a in sorted(page.links)])  # fmt: skip
    s = score_forms([(perfect, page)], same_words=True)
    assert s["entity_f1"] == 1.0 and s["link_f1"] == 1.0
    # one entity with a wrong label and one split in two: both miss (no links predicted: link F1 0)
    ents = [Entity(g, lab) for g, lab in zip(page.groups, page.labels, strict=True)]
    q = sorted(page.links)[0][0]
    ents[q] = Entity(ents[q].words, LABELS.index("other"))
    split = next(k for k, g in enumerate(page.groups) if len(g) > 1)
    ents[split:split + 1] = [Entity(page.groups[split][:1], page.labels[split]),
                             Entity(page.groups[split][1:], page.labels[split])]  # fmt: skip
    s = score_forms([(FormResult(words, ents, []), page)], same_words=True)
    n = len(page.groups)
    assert s["entity_recall"] == pytest.approx((n - 2) / n)
    assert s["entity_precision"] == pytest.approx((n - 2) / (n + 1))
    assert s["link_f1"] == 0.0 and s["links"] == len(page.links)
    # text matching (OCR words): same text, label and place count; a misread word does not
    ocr = [Word(w.text, w.box) for w in words]
    ocr[page.groups[0][0]] = Word("X" + words[page.groups[0][0]].text, words[page.groups[0][0]].box)
    guess = FormResult(ocr, [Entity(g, lab) for g, lab in zip(page.groups, page.labels, strict=True)], [])
    assert score_forms([(guess, page)], same_words=False)["entity_recall"] == pytest.approx((n - 1) / n)


def test_trained_model_finds_entities_and_links_on_held_out_forms(bundle: Path) -> None:
    extractor = FormExtractor(bundle)
    held_out = [labelled_page(synthetic_form(s)) for s in range(100, 115)]
    scores = evaluate_form(extractor, held_out)
    assert scores["entity_f1"] >= 0.9, scores
    assert scores["link_f1"] >= 0.85, scores
    assert scores["extract_s_per_page"] < 0.5
    given = evaluate_form(extractor, held_out, given_entities=True)
    assert given["entity_f1"] >= scores["entity_f1"] - 1e-9


def test_bundle_is_plain_arrays_and_config(bundle: Path) -> None:
    config = json.loads((bundle / "config.json").read_text())
    assert config["task"] == "form" and config["labels"] == list(LABELS)
    with np.load(bundle / "weights.npz", allow_pickle=False) as data:
        assert {"words_weights", "edges_tree_leaves", "segments_tree_leaves", "entities_weights",
                "entities3_tree_features", "links_weights"} <= set(data.files)  # fmt: skip
    with pytest.raises(MissingWeights):
        FormExtractor(bundle.parent / "missing")


def test_extraction_gives_key_value_pairs(bundle: Path) -> None:
    record = synthetic_form(7)
    result = FormExtractor(bundle).extract(document_of(record))
    truth = labelled_page(record)
    expected = {" ".join(truth.words[i].text for i in truth.groups[q]):
                " ".join(truth.words[i].text for i in truth.groups[a]) for q, a in truth.links}  # fmt: skip
    got = {name: f.raw for name, f in result.fields.items()}
    assert sum(got.get(k) == v for k, v in expected.items()) >= len(expected) - 1
    data = json.loads(json.dumps(result.to_dict()))
    assert data["task"] == "form"
    labels = {e["label"] for e in data["metadata"]["entities"]}
    assert {"question", "answer", "header"} <= labels
    assert all(0.0 <= p["confidence"] <= 1.0 for p in data["metadata"]["pairs"])
    assert FormExtractor(bundle).extract(Document(pages=())).fields == {}


def test_registry_knows_forms() -> None:
    assert "form" in list_tasks()
    if (DEFAULT_BUNDLE / "weights.npz").is_file():
        extractor = get_extractor("form")
        out = extractor.extract(document_of(synthetic_form(3)))
        assert out.task == "form" and out.metadata["entities"]


def _manifest(tmp_path: Path, seeds: range) -> Path:
    path = tmp_path / "forms.jsonl"
    path.write_text("".join(json.dumps(synthetic_form(s)) + "\n" for s in seeds))
    return path


def test_cli_trains_and_evaluates_forms(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, range(30))
    out = tmp_path / "bundle"
    result = runner.invoke(app, ["extract", "train", "--task", "form", "--manifest", str(manifest), "--out", str(out),
                                 "--train", "0:24", "--val", "24:30", "--steps", "200"])  # fmt: skip
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert scores["val"]["pages"] == 6 and scores["val"]["entity_f1"] >= 0.8
    config = json.loads((out / "config.json").read_text())
    assert (out / "weights.npz").is_file() and config["train"]["l2"] == 0.03
    # the thresholds come from the grids, chosen inside the training part
    assert config["row_threshold"] in ROW_THRESHOLDS and config["column_threshold"] in COLUMN_THRESHOLDS
    assert config["link_threshold"] in LINK_THRESHOLDS and config["thresholds_from"].startswith("training pages")
    result = runner.invoke(app, ["eval", "extract", "--task", "form", "--manifest", str(manifest), "--model", str(out),
                                 "--input", "gt", "--start", "24", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    values = json.loads(result.stdout)
    assert values["count"] == 6 and values["input"] == "gt"
    assert values["entity_f1"] == pytest.approx(scores["val"]["entity_f1"])
    assert values["link_f1"] == pytest.approx(scores["val"]["link_f1"])
    result = runner.invoke(app, ["eval", "extract", "--task", "form", "--manifest", str(manifest), "--input", "nope"])
    assert result.exit_code != 0


class _FakeOCR:
    def read(self, path: Path) -> Document:
        return document_of(synthetic_form(5))


def test_cli_extract_form_writes_json(tmp_path: Path, bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extract_cli, "_engines", lambda options: (_FakeOCR(), FormExtractor(bundle)))
    image = tmp_path / "f.png"
    Image.fromarray(np.full((40, 40, 3), 255, dtype=np.uint8)).save(image)
    result = runner.invoke(app, ["extract", "form", str(image)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["task"] == "form" and data["fields"] and data["metadata"]["links"]
    assert all(f["boxes"] for f in data["fields"].values())
