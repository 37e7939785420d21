"""Receipts → company, date, address, total (the SROIE key-information fields), plus currency.

Company and address come from a small learned line classifier (``lines.py``: position, size, neighbours, words);
date by rule (``rules.find_dates``, preferring a row that says DATE); total by a learned ranking of the page's
amounts (keywords on their row, position, size among the amounts); currency from the total's row or the page.
The parameters live in the bundle ``textlens/models/weights/_extract/receipt_kie`` (config.json, weights.npz,
MODEL.md), trained by ``textlens extract train`` (recipes/extract_receipt.sh).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from textlens.document import Document, Line, Page, Word, union_box
from textlens.errors import MissingWeights
from textlens.extract.base import Extraction, Field, field_from_words
from textlens.extract.lexicon import correct_text
from textlens.extract.lines import LineClassifier, feature_count, load_npz, ordered_lines, page_features, rows_of
from textlens.extract.rules import AmountMatch, find_amounts, find_currency, find_dates
from textlens.models.bundle import WEIGHTS_ROOT

FIELDS = ("company", "date", "address", "total", "currency")
SCORED = ("company", "date", "address", "total")
LINE_CLASSES = ("other", "company", "address")
DEFAULT_BUNDLE = WEIGHTS_ROOT / "_extract" / "receipt_kie"
_TIME = re.compile(r"\b\d{1,2}:\d{2}\b")


@dataclass(frozen=True)
class Candidate:
    """An amount on the page with the row it stands on (for the total's ranking)."""

    amount: AmountMatch
    row: int
    words: tuple[Word, ...]
    row_text: str


def row_text(row: Sequence[Line]) -> tuple[str, list[tuple[int, int, Word]]]:
    """A row's lines' words joined by spaces, with each word's character span in that text."""
    text, spans = "", []
    for word in (w for ln in row for w in ln.words):
        if text:
            text += " "
        spans.append((len(text), len(text) + len(word.text), word))
        text += word.text
    return text, spans


def words_in(spans: Sequence[tuple[int, int, Word]], start: int, end: int) -> tuple[Word, ...]:
    return tuple(w for s, e, w in spans if s < end and start < e)


_TOTAL_KEYS = {
    "total": r"TOTAL|TOTAI|T0TAL|JUMLAH",
    "round": r"ROUND",
    "grand": r"GRAND|NETT?\b|NET TOTAL",
    "incl": r"INCL|INCLUSIVE|INC\.? GST|AFTER",
    "due": r"DUE|PAYABLE|TO PAY|BALANCE|AMOUNT|AMT",
    "sub": r"SUB\s?-?\s?TOTAL|SUBTOTAL",
    "excl": r"EXCL|BEFORE|W/O",
    "qty": r"QTY|QUANTITY|ITEM|PCS|UNIT",
    "tax": r"\bGST\b|\bTAX\b|\bSST\b|\bSR\b|\bZR\b|SERVICE",
    "disc": r"DISC|SAVING|VOUCHER|REBATE",
    "cash": r"CASH|TENDER|PAID|RECEIVED|VISA|MASTER|CARD|CREDIT|DEBIT",
    "change": r"CHANGE|BAKI|CHG",
    "price": r"PRICE|@|\bX\b|U/P",
}
CANDIDATE_FEATURES = 2 * len(_TOTAL_KEYS) + 17


def _keys(text: str) -> list[float]:
    up = text.upper()
    return [1.0 if re.search(p, up) else 0.0 for p in _TOTAL_KEYS.values()]


def candidates_of(page: Page, rows: Sequence[Sequence[Line]]) -> list[Candidate]:
    found = []
    for r, row in enumerate(rows):
        text, spans = row_text(row)
        for m in find_amounts(text):
            if m.value >= 0:
                found.append(Candidate(m, r, words_in(spans, m.start, m.end), text))
    return found


def candidate_features(page: Page, rows: Sequence[Sequence[Line]], found: Sequence[Candidate]) -> np.ndarray:
    """One row per candidate amount: its row's keywords, the keywords of the row above, where it stands, and how
    its value compares with the page's other amounts."""
    if not found:
        return np.zeros((0, CANDIDATE_FEATURES), dtype=np.float32)
    values = [c.amount.value for c in found]
    top = max(values)
    texts = [row_text(row)[0] for row in rows]
    keyed = [(c, _keys(c.row_text[: c.amount.start] or c.row_text)) for c in found]
    cash_values = {c.amount.value for c, k in keyed if k[10] and not k[11]}
    change_values = {c.amount.value for c, k in keyed if k[11]}
    paid = {a - b for a in cash_values for b in change_values if a > b}  # what cash minus change says was paid
    total_values = {c.amount.value for c, k in keyed if k[0] and not (k[5] or k[7] or k[8])}
    out = []
    for i, c in enumerate(found):
        before_amount = c.row_text[: c.amount.start]
        keys = _keys(before_amount or c.row_text)
        above = (
            _keys(texts[c.row - 1]) if c.row > 0 and not find_amounts(texts[c.row - 1]) else [0.0] * len(_TOTAL_KEYS)
        )
        box = union_box(w.box for w in c.words) if c.words else (0.0, 0.0, 0.0, 0.0)
        same = sum(v == c.amount.value for v in values)
        later_bigger = sum(1 for c2 in found[i + 1 :] if c2.amount.value > c.amount.value)
        row_amounts = [c2 for c2 in found if c2.row == c.row]
        out.append(
            keys
            + above
            + [
                (box[1] + box[3]) / 2 / max(page.height, 1),
                (box[0] + box[2]) / 2 / max(page.width, 1),
                float(c.amount.value == top),
                float(c.amount.value) / float(top) if top > 0 else 0.0,
                min(same, 5) / 5,
                min(later_bigger, 5) / 5,
                float(c.amount.value in cash_values),
                float(c is row_amounts[-1]),
                float(len(row_amounts) > 1),
                float(c.amount.currency is not None),
                float(c.row == len(rows) - 1),
                (len(rows) - c.row) / max(len(rows), 1),
                float(c.amount.value == 0),
                float(c.amount.value in paid),
                float((c.amount.value * 100) % 5 == 0),
                float(c.amount.value in total_values),
                1.0,
            ]
        )
    return np.asarray(out, dtype=np.float32)


def label_of_amount(raw: str) -> Decimal | None:
    """The decimal value of a labelled total (``9.00``, ``RM 3.90``, ``$8.20``)."""
    amounts = find_amounts(raw.strip())
    return amounts[0].value if amounts else None


def clean_company(text: str) -> str:
    """A company name without a registration number after it (``MINI MART S/B (123456-X)``), and with the
    legal suffix's one-letter slips mended (``SDN EHD`` → ``SDN BHD``, ``S/0`` → ``S/B``)."""
    text = re.sub(r"\s*\((?=[^)]*\d)[^)]*\)?\s*$", "", text)
    text = re.sub(r"\b(SDN\.?) (?!BHD)([A-Z0-9]HD|B[A-Z0-9]D|BH[A-Z0-9])\b", r"\1 BHD", text)
    return re.sub(r"\bS/[0O8]$", "S/B", text)


class ReceiptExtractor:
    """Receipt fields from a read Document (its first page with text)."""

    task = "receipt"
    fields = FIELDS

    def __init__(self, model: str | Path | None = None, run_on: float | None = None) -> None:
        folder = Path(model) if model is not None else DEFAULT_BUNDLE
        if not (folder / "config.json").is_file() or not (folder / "weights.npz").is_file():
            raise MissingWeights(f"no receipt model in {folder} (config.json + weights.npz; train one with "
                                 "`textlens extract train`)")  # fmt: skip
        self.config: dict[str, Any] = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        arrays = load_npz(folder / "weights.npz")
        self.lines = LineClassifier.from_arrays(arrays, "lines", self.config.get("line_classes", LINE_CLASSES))
        self.totals = LineClassifier.from_arrays(arrays, "totals", ("other", "total"))
        if self.lines.weights.shape[0] != feature_count() or self.totals.weights.shape[0] != CANDIDATE_FEATURES:
            raise MissingWeights(f"{folder}: the weights were trained on other features than this textlens makes")
        self.run_on = run_on if run_on is not None else float(self.config.get("run_on", 0.5))
        self.folder = folder

    def extract(self, document: Document) -> Extraction:
        page = next((p for p in document.pages if p.lines), document.pages[0] if document.pages else None)
        source = page.source if page is not None else None
        if page is None or not page.lines:
            return Extraction(self.task, {name: Field(name) for name in FIELDS}, source)
        rows = rows_of(page)
        lines = [ln for ln in page.lines if ln.words]
        fields: dict[str, Field] = {}
        probs = self.lines.probabilities(page_features(page, lines))
        for name in ("company", "address"):
            fields[name] = self._text_field(name, lines, probs[:, LINE_CLASSES.index(name)], page.index)
        fields["date"] = self._date(rows, page.index)
        fields["total"], currency = self._total(page, rows)
        fields["currency"] = currency or self._currency(page)
        ordered = {name: fields[name] for name in FIELDS}
        return Extraction(self.task, ordered, source, {"model": self.folder.name})

    def _text_field(self, name: str, lines: Sequence[Line], p: np.ndarray, page: int) -> Field:
        best = int(np.argmax(p))
        lo = hi = best
        while lo > 0 and p[lo - 1] >= self.run_on:
            lo -= 1
        while hi + 1 < len(lines) and p[hi + 1] >= self.run_on:
            hi += 1
        chosen = lines[lo : hi + 1]
        words = [w for ln in chosen for w in ln.words]
        confidence = float(np.mean(p[lo : hi + 1])) * (sum(w.confidence for w in words) / max(len(words), 1))
        text = " ".join(w.text for w in words)
        letters = [c for c in text if c.isalpha()]
        if letters and sum(c.isupper() for c in letters) >= 0.75 * len(letters):
            text = text.upper()  # a header in capitals: the reader's stray small letters are its own
        if name == "address" and self.config.get("lexicon", True):
            text = correct_text(text)
        if name == "company":
            text = clean_company(text)
        return field_from_words(name, words, raw=text, confidence=confidence, page=page)

    def _date(self, rows: Sequence[Sequence[Line]], page: int) -> Field:
        best: tuple[float, int] | None = None
        chosen = None
        for r, row in enumerate(rows):
            text, spans = row_text(row)
            for m in find_dates(text):
                score = 2.0 * bool(re.search(r"DATE|TARIKH|TRANS", text.upper())) + 1.0 * bool(_TIME.search(text))
                key = (score, -r)
                if best is None or key > best:
                    best, chosen = key, (m, words_in(spans, m.start, m.end))
        if chosen is None:
            return Field("date", page=page)
        m, words = chosen
        confidence = 0.6 + 0.2 * min(best[0], 2.0) if best else 0.6  # type: ignore[index]
        confidence *= sum(w.confidence for w in words) / max(len(words), 1)
        return Field("date", m.iso, m.raw, confidence, tuple(w.box for w in words), page)

    def _total(self, page: Page, rows: Sequence[Sequence[Line]]) -> tuple[Field, Field | None]:
        found = candidates_of(page, rows)
        if not found:
            return Field("total", page=page.index), None
        p = self.totals.probabilities(candidate_features(page, rows, found))[:, 1]
        best = int(np.argmax(p))
        c = found[best]
        words_conf = sum(w.confidence for w in c.words) / max(len(c.words), 1)
        raw = c.amount.raw
        glued = c.amount.currency_raw and c.row_text[c.amount.start : c.amount.end].startswith(
            c.amount.currency_raw + raw
        )
        if glued:  # printed as one token ($8.20, RM4.00): kept whole, as the page shows it
            raw = c.amount.currency_raw + raw  # type: ignore[operator]
        total = Field("total", str(c.amount.value), raw, float(p[best]) * words_conf,
                      tuple(w.box for w in c.words), page.index)  # fmt: skip
        currency = None
        if c.amount.currency:
            currency = Field("currency", c.amount.currency, c.amount.currency_raw, total.confidence,
                             total.boxes, page.index)  # fmt: skip
        return total, currency

    def _currency(self, page: Page) -> Field:
        for line in ordered_lines(page):
            found = find_currency(line.text)
            if found:
                return Field("currency", found[0], found[1], 0.5 * line.confidence, (line.box,), page.index)  # type: ignore[arg-type]
        return Field("currency", page=page.index)
