"""Hand-worked examples for every evaluation metric (docs/evaluation.md)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from textlens.data.manifest import read_manifest
from textlens.data.samples import WordAnnotation
from textlens.document import Document, Word
from textlens.errors import AnnotationError, ModelError
from textlens.eval import (
    PredWord,
    evaluate_digits,
    evaluate_pages,
    evaluate_recognizer,
    match_page,
    merge_words,
    normalize,
    normalize_ci_alnum,
    page_result,
    prf,
    reading_order,
    score_labels,
    score_recognition,
    split_line,
    summarize_pages,
    to_level,
)
from textlens.eval.geometry import box_iou, polygon_inside_fraction, polygon_iou
from textlens.eval.predictions import pair_predictions, read_predictions
from textlens.eval.report import error_records, write_errors, write_report
from textlens.layout import page_from_words
from textlens.runtime.base import Recognition


def gt(text: str, box: tuple[float, float, float, float], **kw: object) -> WordAnnotation:
    return WordAnnotation(text=text, box=box, **kw)  # type: ignore[arg-type]


def pw(text: str, box: tuple[float, float, float, float], **kw: object) -> PredWord:
    return PredWord(text=text, box=box, **kw)  # type: ignore[arg-type]


# ------------------------------------------------------------------ text normalisation


def test_normalize_applies_nfc_and_collapses_whitespace() -> None:
    assert normalize(" a\t\n b\u00a0 c ") == "a b c"
    assert normalize("cafe\u0301") == "café" == normalize("café")


def test_ci_alnum_keeps_letters_marks_and_decimal_digits_only() -> None:
    assert normalize_ci_alnum("Hello, World-42!") == "helloworld42"
    assert normalize_ci_alnum("ÜBER") == "über"
    assert normalize_ci_alnum("नमस्ते") == "नमस्ते"  # the virama (Mn) and vowel signs (Mc) stay
    assert normalize_ci_alnum("٤٢") == "٤٢"  # Arabic-Indic digits are Nd
    assert normalize_ci_alnum("½ Ⅻ ²") == ""  # No and Nl are not decimal digits


# ------------------------------------------------------------------ recognition


def test_recognition_scores_hand_worked_set() -> None:
    pairs = [("Hello!", "hello"), ("World", "Word"), ("café", "cafe\u0301"), ("a  b", "a b")]
    s = score_recognition(pairs)
    assert s.count == 4
    assert s.word_acc == pytest.approx(2 / 4)  # café (NFC) and "a b" (collapsed) are exact
    assert s.word_acc_ci_alnum == pytest.approx(3 / 4)  # Hello! = hello once folded
    # edits 2 (H->h, drop !) + 1 + 0 + 0 over 6 + 5 + 4 + 3 ground-truth characters
    assert s.cer == pytest.approx(3 / 18)
    # normalised strings: hello/hello, world/word, café/café, ab/ab -> 1 edit over 5 + 5 + 4 + 2
    assert s.cer_ci_alnum == pytest.approx(1 / 16)
    assert s.ned == pytest.approx((1 - 2 / 6 + 1 - 1 / 5 + 1 + 1) / 4)
    assert s.wer == pytest.approx(2 / 5)  # two wrong tokens over 1 + 1 + 1 + 2


def test_cer_is_pooled_over_the_set_not_a_mean_of_rates() -> None:
    s = score_recognition([("a", "b"), ("abcdefghij", "abcdefghij")])
    assert s.cer == pytest.approx(1 / 11)  # a per-sample mean would give 0.5


def test_empty_predictions_count_every_character_as_an_error() -> None:
    s = score_recognition([("abc", ""), ("de", "")])
    assert (s.word_acc, s.cer, s.ned) == (0.0, 1.0, 0.0)


def test_both_empty_is_a_perfect_sample() -> None:
    s = score_recognition([("", ""), ("  ", "")])
    assert (s.word_acc, s.cer, s.ned) == (1.0, 0.0, 1.0)


# ------------------------------------------------------------------ geometry


def test_box_and_polygon_iou() -> None:
    assert box_iou((0, 0, 2, 2), (1, 0, 3, 2)) == pytest.approx(1 / 3)
    assert box_iou((0, 0, 1, 1), (5, 5, 6, 6)) == 0.0
    diamond = ((5, 0), (10, 5), (5, 10), (0, 5))
    assert polygon_iou(diamond, (0, 0, 10, 10)) == pytest.approx(0.5)
    assert polygon_inside_fraction(diamond, (0, 0, 10, 10)) == pytest.approx(1.0)


def test_self_intersecting_polygon_is_repaired_not_fatal() -> None:
    bow_tie = ((0, 0), (10, 10), (10, 0), (0, 10))
    assert 0.0 < polygon_iou(bow_tie, (0, 0, 10, 10)) <= 0.5


# ------------------------------------------------------------------ matching and detection


def test_greedy_matching_takes_the_highest_iou_first() -> None:
    truth = [gt("a", (0, 0, 10, 10)), gt("b", (0, 0, 10, 12))]
    m = match_page(truth, [pw("b", (0, 0, 10, 11))])  # IoU 0.909 with a, 0.917 with b
    assert [(i, j) for i, j, _ in m.pairs] == [(1, 0)]
    assert m.missed == [0]


def test_matching_is_one_to_one() -> None:
    truth = [gt("a", (0, 0, 10, 10)), gt("b", (1, 0, 11, 10))]
    preds = [pw("a", (0, 0, 10, 10)), pw("b", (1, 0, 11, 10))]
    m = match_page(truth, preds)
    assert sorted((i, j) for i, j, _ in m.pairs) == [(0, 0), (1, 1)]
    assert m.counts.e2e == 2


def test_iou_below_half_is_no_match() -> None:
    m = match_page([gt("a", (0, 0, 10, 10))], [pw("a", (4, 0, 14, 10))])  # IoU 6/14
    assert m.counts.matched == 0 and m.missed == [0] and m.false_alarms == [0]


def test_dont_care_regions_are_neither_missed_nor_matched_and_absorb_predictions() -> None:
    truth = [
        gt("TOTAL", (0, 0, 10, 10)),
        gt("12.00", (20, 0, 30, 10)),
        gt("###", (40, 0, 50, 10)),
        gt("blur", (60, 0, 70, 10), ignore=True),
    ]
    preds = [
        pw("Total", (0, 0, 10, 10)),  # match; exact text differs, ci text equal
        pw("12.00", (21, 0, 31, 10)),  # match (IoU 0.818), text right
        pw("junk", (40, 0, 50, 10)),  # would match the ### region exactly: dropped instead
        pw("half", (65, 0, 75, 10)),  # 50 % of its area inside the ignore region: dropped
        pw("edge", (66, 0, 76, 10)),  # 40 % inside: a false alarm
        pw("noise", (100, 100, 110, 110)),  # a false alarm
    ]
    m = match_page(truth, preds)
    c = m.counts
    assert (c.gt, c.pred, c.matched, c.e2e, c.e2e_ci) == (2, 4, 2, 1, 2)
    assert m.dropped == [2, 3] and m.false_alarms == [4, 5] and m.missed == []
    s = summarize_pages([c])
    assert (s.det.precision, s.det.recall) == (0.5, 1.0)
    assert s.det.f1 == pytest.approx(2 / 3)
    assert (s.e2e.precision, s.e2e.recall) == (0.25, 0.5)
    assert s.e2e_ci.f1 == pytest.approx(2 / 3)
    # dropped predictions leave the bag of words too: Total, 12.00, edge, noise vs TOTAL, 12.00
    assert (c.bow_pred, c.bow_gt, c.bow_hits) == (4, 2, 1)


def test_polygon_mode_compares_shapes_not_their_boxes() -> None:
    truth = [gt("x", (0, 0, 10, 10), polygon=((5, 0), (10, 5), (5, 10), (0, 5)))]
    pred = [pw("x", (0, 0, 10, 12))]
    assert match_page(truth, pred, iou="box").counts.matched == 1  # boxes: IoU 100/120
    assert match_page(truth, pred, iou="polygon").counts.matched == 0  # diamond: IoU 50/120


def test_empty_predictions_score_zero_and_empty_pages_score_one() -> None:
    s = summarize_pages([match_page([gt("ab", (0, 0, 9, 9)), gt("c", (20, 0, 29, 9))], []).counts])
    assert (s.det.f1, s.e2e.f1, s.bow.f1, s.page_cer) == (0.0, 0.0, 0.0, 1.0)
    s = summarize_pages([match_page([gt("###", (0, 0, 9, 9))], []).counts])
    assert (s.det.f1, s.e2e.f1, s.page_cer) == (1.0, 1.0, 0.0)
    assert prf(0, 3, 0) == prf(0, 0, 3)  # hallucinating on a blank page and missing everything


def test_counts_are_micro_averaged_over_pages() -> None:
    page_a = match_page([gt("a", (0, 0, 9, 9))], [pw("a", (0, 0, 9, 9))]).counts
    page_b = match_page([gt(t, (20 * i, 0, 20 * i + 9, 9)) for i, t in enumerate("bcd")], []).counts
    s = summarize_pages([page_a, page_b])
    assert s.pages == 2
    assert s.det.recall == pytest.approx(1 / 4)  # a page mean would give (1 + 0) / 2
    assert s.det.precision == 1.0


def test_bag_of_words_compares_token_multisets() -> None:
    truth = [gt("the cat", (0, 0, 50, 10)), gt("the", (0, 20, 20, 30))]
    preds = [pw("the the", (200, 200, 220, 210)), pw("the dog", (300, 300, 320, 310))]
    s = summarize_pages([match_page(truth, preds).counts])
    assert (s.bow.precision, s.bow.recall) == (pytest.approx(2 / 4), pytest.approx(2 / 3))
    assert s.bow.f1 == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))


# ------------------------------------------------------------------ reading order and page CER


def test_reading_order_groups_by_vertical_centre_then_left_to_right() -> None:
    items = [
        ("world", (50, 0, 90, 10)),
        ("bye", (0, 30, 20, 40)),
        ("hello", (0, 2, 40, 12)),
        ("now", (30, 31, 50, 41)),
    ]
    assert reading_order(items) == "hello world bye now"


def test_page_cer_uses_reading_order_text() -> None:
    truth = [gt("world", (50, 0, 90, 10)), gt("hello", (0, 2, 40, 12)), gt("bye", (0, 30, 20, 40))]
    preds = [pw("hello wrld", (0, 0, 90, 12)), pw("bye", (0, 30, 20, 40))]
    m = match_page(truth, preds)
    assert (m.gt_text, m.pred_text) == ("hello world bye", "hello wrld bye")
    assert m.cer == pytest.approx(1 / 15)


# ------------------------------------------------------------------ granularity


def test_split_line_divides_the_box_by_character_counts() -> None:
    words = split_line(pw("ab   cde", (0, 0, 60, 10)))  # collapsed to "ab cde": 6 characters of 10 px
    assert [(w.text, w.box) for w in words] == [("ab", (0, 0, 20, 10)), ("cde", (30, 0, 60, 10))]


def test_split_line_prefers_the_word_boxes_it_carries() -> None:
    parts = (pw("ab", (0, 0, 15, 10)), pw("cde", (25, 0, 60, 10)))
    assert split_line(pw("ab cde", (0, 0, 60, 10), words=parts)) == list(parts)


def test_merge_words_groups_by_vertical_overlap_and_splits_at_wide_gaps() -> None:
    words = [
        pw("DUE", (55, 1, 85, 11)),
        pw("12.00", (300, 0, 350, 10)),
        pw("TOTAL", (0, 0, 50, 10)),
        pw("next", (0, 20, 40, 30)),
    ]
    lines = sorted(merge_words(words), key=lambda w: (w.box[1], w.box[0]))
    assert [(ln.text, ln.box) for ln in lines] == [
        ("TOTAL DUE", (0, 0, 85, 11)),
        ("12.00", (300, 0, 350, 10)),
        ("next", (0, 20, 40, 30)),
    ]


def test_line_predictions_score_against_word_truth_after_splitting() -> None:
    truth = (gt("ab", (0, 0, 20, 10)), gt("cde", (30, 0, 60, 10)))
    result = page_result([Path("p.png")], [truth], [[pw("ab cde", (0, 0, 60, 10))]], level="word")
    assert result.scores.e2e.f1 == 1.0


def test_word_predictions_score_against_line_truth_after_merging() -> None:
    truth = (gt("TOTAL DUE", (0, 0, 85, 11)),)
    preds = [pw("TOTAL", (0, 0, 50, 10)), pw("DUE", (55, 1, 85, 11))]
    assert to_level(preds, "line")[0].text == "TOTAL DUE"
    result = page_result([Path("p.png")], [truth], [preds], level="line")
    assert (result.scores.det.f1, result.scores.e2e.f1) == (1.0, 1.0)


# ------------------------------------------------------------------ classification


def test_label_accuracy_sequences_and_confusion_matrix() -> None:
    s = score_labels([("7", "7"), ("1", "7"), ("42", "42"), ("42", "4")])
    assert (s.count, s.accuracy, s.error) == (4, 0.5, 0.5)  # "4" for "42": a wrong length is wrong
    assert s.labels == ["1", "4", "7", "42"]
    assert s.matrix() == [[0, 0, 1, 0], [0, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 1]]


# ------------------------------------------------------------------ runners, on generated manifests


def _crops(tmp_path: Path, texts: list[str]) -> Path:
    lines = []
    for i, text in enumerate(texts):
        Image.fromarray(np.full((8, 16, 3), i * 10, np.uint8)).save(tmp_path / f"c{i}.png")
        lines.append(json.dumps({"image": f"c{i}.png", "text": text}))
    (tmp_path / "m.jsonl").write_text("\n".join(lines) + "\n")
    return tmp_path / "m.jsonl"


class ByShade:
    """A fake recogniser that reads a crop's shade as the index of a known answer."""

    name = "fake"

    def __init__(self, answers: list[str]) -> None:
        self.answers = answers
        self.calls = 0

    def recognize(self, crops: list[np.ndarray]) -> list[Recognition]:
        self.calls += 1
        return [Recognition(self.answers[int(c[0, 0, 0]) // 10], 0.9) for c in crops]


def test_evaluate_recognizer_scores_and_times_after_one_warm_up(tmp_path: Path) -> None:
    records = read_manifest(_crops(tmp_path, ["one", "two", "three"]))
    fake = ByShade(["one", "tw0", "three"])
    result = evaluate_recognizer(fake, records, batch_size=2, init_s=0.5)
    assert fake.calls == 1 + 2  # warm-up, then batches of 2 and 1
    assert result.scores.word_acc == pytest.approx(2 / 3)
    assert result.ms_per_item is not None and result.ms_per_item >= 0 and result.init_s == 0.5
    assert [(m.truth, m.pred) for m in result.misses()] == [("two", "tw0")]


def test_a_recognizer_returning_too_few_readings_is_a_model_error(tmp_path: Path) -> None:
    class Short(ByShade):
        def recognize(self, crops: list[np.ndarray]) -> list[Recognition]:
            return []

    with pytest.raises(ModelError, match="0 readings for 1 crops"):
        evaluate_recognizer(Short([]), read_manifest(_crops(tmp_path, ["a"])))


def test_evaluate_recognizer_refuses_page_records(tmp_path: Path) -> None:
    Image.new("RGB", (4, 4)).save(tmp_path / "p.png")
    (tmp_path / "m.jsonl").write_text('{"image": "p.png", "words": []}\n')
    with pytest.raises(AnnotationError, match="expected a crop record"):
        evaluate_recognizer(ByShade([]), read_manifest(tmp_path / "m.jsonl"))


def _page_manifest(tmp_path: Path) -> Path:
    Image.new("RGB", (200, 100), "white").save(tmp_path / "p.png")
    words = [
        {"text": "Hello", "box": [10, 10, 60, 30]},
        {"text": "world", "box": [70, 10, 120, 30]},
        {"text": "###", "box": [10, 60, 60, 80]},
    ]
    (tmp_path / "pages.jsonl").write_text(json.dumps({"image": "p.png", "words": words}) + "\n")
    return tmp_path / "pages.jsonl"


def test_evaluate_pages_with_a_perfect_reader_returning_a_document(tmp_path: Path) -> None:
    records = read_manifest(_page_manifest(tmp_path))

    def reader(image: np.ndarray) -> Document:
        words = [Word(w.text, w.box) for w in records[0].words if not w.is_dont_care]
        return Document(pages=(page_from_words(words, image.shape[1], image.shape[0]),))

    result = evaluate_pages(reader, records, level="word")
    j = result.to_json()
    assert (j["det_f1"], j["e2e_f1"], j["bow_f1"], j["page_cer"]) == (1.0, 1.0, 1.0, 0.0)
    assert j["s_per_page"] >= 0 and j["peak_rss_mb"] > 0


def test_evaluate_pages_accepts_text_box_pairs_with_known_errors(tmp_path: Path) -> None:
    records = read_manifest(_page_manifest(tmp_path))
    result = evaluate_pages(lambda image: [("hello", (10, 10, 60, 30))], records)
    s = result.scores
    assert (s.det.precision, s.det.recall, s.e2e.f1, s.e2e_ci.f1) == (1.0, 0.5, 0.0, pytest.approx(2 / 3))
    kinds = [e["kind"] for e in error_records(result)]
    assert sorted(kinds) == ["misread", "missed"]


def test_evaluate_digits(tmp_path: Path) -> None:
    for i in range(3):
        Image.fromarray(np.full((4, 4, 3), i, np.uint8)).save(tmp_path / f"d{i}.png")
    (tmp_path / "d.jsonl").write_text(
        "".join(json.dumps({"image": f"d{i}.png", "label": str(i)}) + "\n" for i in range(3))
    )
    result = evaluate_digits(lambda im: str(min(int(im[0, 0, 0]), 1)), read_manifest(tmp_path / "d.jsonl"))
    assert result.to_json() == {"count": 3, "accuracy": pytest.approx(2 / 3), "error": pytest.approx(1 / 3)}


# ------------------------------------------------------------------ predictions files and reports


def test_predictions_pair_by_relative_path_then_unique_file_name(tmp_path: Path) -> None:
    records = read_manifest(_crops(tmp_path, ["a", "b", "c"]))
    (tmp_path / "p.jsonl").write_text(
        '{"image": "c0.png", "pred": "a"}\n{"image": "/elsewhere/c1.png", "pred": "b"}\n'
        '{"image": "zz.png", "pred": "?"}\n'
    )
    pairing = pair_predictions(records, read_predictions(tmp_path / "p.jsonl"), tmp_path)
    assert [p.pred if p else None for p in pairing.preds] == ["a", "b", None]
    assert [p.image for p in pairing.unmatched] == ["zz.png"]


def test_a_second_prediction_for_one_image_is_an_error(tmp_path: Path) -> None:
    records = read_manifest(_crops(tmp_path, ["a"]))
    (tmp_path / "p.jsonl").write_text('{"image": "c0.png", "pred": "a"}\n{"image": "c0.png", "pred": "b"}\n')
    with pytest.raises(AnnotationError, match=r"p\.jsonl:2: a second prediction"):
        pair_predictions(records, read_predictions(tmp_path / "p.jsonl"), tmp_path)


def test_malformed_prediction_line_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "p.jsonl").write_text('{"image": "a.png", "pred": "x"}\n{oops\n')
    with pytest.raises(AnnotationError, match=r"p\.jsonl:2: not valid JSON"):
        read_predictions(tmp_path / "p.jsonl")


def test_errors_and_report_show_the_worst_misses(tmp_path: Path) -> None:
    records = read_manifest(_crops(tmp_path, ["one", "two", "three"]))
    result = evaluate_recognizer(ByShade(["one", "tw0", "xxxxx"]), records)
    assert write_errors(tmp_path / "errors.jsonl", result) == 2
    first = json.loads((tmp_path / "errors.jsonl").read_text().splitlines()[0])
    assert (first["truth"], first["pred"]) == ("three", "xxxxx")  # lowest 1-NED first
    write_report(tmp_path / "rep", result, "test")
    md = (tmp_path / "rep" / "report.md").read_text()
    assert md.index("xxxxx") < md.index("tw0") and "images/crop_000.png" in md
    assert (tmp_path / "rep" / "images" / "crop_001.png").is_file()
    assert "data:image/png;base64," in (tmp_path / "rep" / "report.html").read_text()


def test_page_report_draws_the_worst_pages(tmp_path: Path) -> None:
    records = read_manifest(_page_manifest(tmp_path))
    result = evaluate_pages(lambda image: [("hello", (10, 10, 60, 30)), ("x", (150, 50, 190, 90))], records)
    write_report(tmp_path / "rep", result, "pages")
    assert (tmp_path / "rep" / "images" / "page_000.png").is_file()
    assert "| `Hello` | `hello` |" in (tmp_path / "rep" / "report.md").read_text()
