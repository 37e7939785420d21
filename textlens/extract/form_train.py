"""Training and scoring of the form extractor from labelled pages (FUNSD-style manifest records; numpy only).

A record has ``words`` (``text``, ``box``, ``entity_id``, ``label``) and ``entities`` (``id``, ``label``,
``linking``: pairs of entity ids); ``width``/``height`` when given, else the image's size, else the words' extent.
Metrics (docs/evaluation.md): ``entity_f1`` (an entity counts when its words and its label are exactly right) and
``link_f1`` over question→answer pairs (a link counts when both its entities count and the labels link them).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from textlens.document import Box, Word
from textlens.extract.form import (
    LABELS,
    Entity,
    FormExtractor,
    FormResult,
    edge_features,
    entity_features,
    entity_neighbours,
    entity_stack,
    link_candidates,
    link_features,
    neighbours_of,
    stacked_features,
    word_features,
)
from textlens.extract.lines import LineClassifier, save_npz


@dataclass
class LabelledPage:
    """A page's words with their entities (word index groups, labels) and question→answer links."""

    words: list[Word]
    width: float
    height: float
    groups: list[tuple[int, ...]]
    labels: list[int]
    links: set[tuple[int, int]]  # (question group, answer group)
    image: str = ""


def labelled_page(record: dict[str, Any], root: Path | None = None) -> LabelledPage:
    """The labelled page of a manifest record (words without text are left out, as are entities without words)."""
    words: list[Word] = []
    by_entity: dict[int, list[int]] = {}
    for w in record.get("words", []):
        text = str(w.get("text", "")).strip()
        if not text:
            continue
        by_entity.setdefault(int(w.get("entity_id", -1)), []).append(len(words))
        words.append(Word(text, tuple(float(v) for v in w["box"])))  # type: ignore[arg-type]
    labels_of = {int(e["id"]): str(e["label"]) for e in record.get("entities", [])}
    for w in record.get("words", []):
        labels_of.setdefault(int(w.get("entity_id", -1)), str(w.get("label", "other")))
    width, height = record.get("width"), record.get("height")
    if (width is None or height is None) and root is not None and record.get("image"):
        path = root / record["image"]
        if path.is_file():
            from PIL import Image

            with Image.open(path) as im:
                width, height = im.size
    if width is None or height is None:
        width = max((w.box[2] for w in words), default=1.0) + 10
        height = max((w.box[3] for w in words), default=1.0) + 10
    ids = sorted(by_entity)
    index = {eid: k for k, eid in enumerate(ids)}
    groups = [tuple(by_entity[eid]) for eid in ids]
    labels = [LABELS.index(labels_of.get(eid, "other")) if labels_of.get(eid) in LABELS else 0 for eid in ids]
    links: set[tuple[int, int]] = set()
    for e in record.get("entities", []):
        for pair in e.get("linking", []):
            a, b = int(pair[0]), int(pair[1])
            if a not in index or b not in index:
                continue
            la, lb = LABELS[labels[index[a]]], LABELS[labels[index[b]]]
            if (la, lb) == ("question", "answer"):
                links.add((index[a], index[b]))
            elif (la, lb) == ("answer", "question"):
                links.add((index[b], index[a]))
    return LabelledPage(words, float(width), float(height), groups, labels, links, str(record.get("image", "")))


def read_form_records(manifest: Path) -> list[dict[str, Any]]:
    from textlens.extract.base import read_labelled_records

    return read_labelled_records(
        manifest,
        lambda r: isinstance(r.get("words"), list),
        "a form record needs 'words' (text, box, entity_id, label)",
    )


def _balanced(labels: np.ndarray, k: int) -> list[float]:
    counts = np.bincount(labels, minlength=k)
    return [len(labels) / (k * max(c, 1)) for c in counts]


def train_form(pages: Sequence[LabelledPage], l2: float = 0.03, steps: int = 300) -> dict[str, Any]:
    """Fit the four models (words, edges, entities, links); the arrays for ``weights.npz`` and counts."""
    wx, wy, per_page = [], [], []
    for page in pages:
        if not page.words:
            continue
        nb = neighbours_of(page.words)
        label_of_word = np.zeros(len(page.words), dtype=np.int64)
        group_of_word = np.full(len(page.words), -1, dtype=np.int64)
        for g, (group, label) in enumerate(zip(page.groups, page.labels, strict=True)):
            label_of_word[list(group)] = label
            group_of_word[list(group)] = g
        wx.append(word_features(page.words, page.width, page.height, nb))
        wy.append(label_of_word)
        per_page.append((page, nb, group_of_word))
    x, y = np.concatenate(wx), np.concatenate(wy)
    words_model = LineClassifier.fit(x, y, LABELS, l2=l2, steps=steps, lr=0.5)
    stacked = [stacked_features(f, words_model.probabilities(f), p[1]) for f, p in zip(wx, per_page, strict=True)]
    words2_model = LineClassifier.fit(np.concatenate(stacked), y, LABELS, l2=l2, steps=steps, lr=0.5)
    ex, ey, nx, ny, lx, ly, nn = [], [], [], [], [], [], []
    for (page, nb, group_of_word), st in zip(per_page, stacked, strict=True):
        probs = words2_model.probabilities(st)
        if nb.edges:
            ex.append(edge_features(page.words, nb.edges, probs))
            ey.append(np.array([int(group_of_word[a] == group_of_word[b]) for a, b, _ in nb.edges]))
        entities = [Entity(g, lab) for g, lab in zip(page.groups, page.labels, strict=True)]
        nx.append(entity_features(entities, page.words, page.width, page.height, probs))
        nn.append(entity_neighbours(entities, page.words))
        ny.append(np.array(page.labels, dtype=np.int64))
        for e in entities:
            e.probs = np.eye(len(LABELS), dtype=np.float32)[e.label]
        pairs = link_candidates(entities)
        if pairs:
            lx.append(link_features(entities, page.words, page.width, page.height, pairs))
            ly.append(np.array([int(p in page.links) for p in pairs]))
    ex_, ey_ = np.concatenate(ex), np.concatenate(ey)
    edges_model = LineClassifier.fit(ex_, ey_, ("split", "join"), l2=l2, steps=steps, lr=0.5)
    nx_, ny_ = np.concatenate(nx), np.concatenate(ny)
    entities_model = LineClassifier.fit(nx_, ny_, LABELS, l2=l2, steps=steps, lr=0.5)
    nx2 = np.concatenate([entity_stack(f, entities_model.probabilities(f), b) for f, b in zip(nx, nn, strict=True)])
    entities2_model = LineClassifier.fit(nx2, ny_, LABELS, l2=l2, steps=steps, lr=0.5)
    lx_, ly_ = np.concatenate(lx), np.concatenate(ly)
    links_model = LineClassifier.fit(lx_, ly_, ("no", "link"), l2=l2, steps=steps, lr=0.5)
    return {
        "arrays": {
            **words_model.arrays("words"),
            **words2_model.arrays("words2"),
            **edges_model.arrays("edges"),
            **entities_model.arrays("entities"),
            **entities2_model.arrays("entities2"),
            **links_model.arrays("links"),
        },
        "counts": {
            "pages": len(per_page),
            "words": {c: int(n) for c, n in zip(LABELS, np.bincount(y, minlength=4), strict=True)},
            "entities": {c: int(n) for c, n in zip(LABELS, np.bincount(ny_, minlength=4), strict=True)},
            "edges": {"split": int((ey_ == 0).sum()), "join": int(ey_.sum())},
            "link_pairs": {"no": int((ly_ == 0).sum()), "link": int(ly_.sum())},
        },
    }


def write_form_bundle(folder: Path, trained: dict[str, Any], config: dict[str, Any]) -> None:
    from textlens.extract.form import HASH_BUCKETS
    from textlens.io.atomic import atomic_write_text

    folder.mkdir(parents=True, exist_ok=True)
    save_npz(folder / "weights.npz", trained["arrays"])
    full = {
        "name": folder.name,
        "family": "extraction",
        "task": "form",
        "labels": list(LABELS),
        "hash_buckets": HASH_BUCKETS,
        "join_threshold": 0.5,
        "link_threshold": 0.5,
        **config,
        "counts": trained["counts"],
    }
    atomic_write_text(folder / "config.json", json.dumps(full, indent=2) + "\n")


def choose_thresholds(folder: Path, pages: Sequence[LabelledPage]) -> dict[str, float]:
    """The join and link thresholds with the best entity F1 (then link F1) on ``pages`` (the training pages:
    the validation part is not looked at), written into the bundle's config.json."""
    from textlens.io.atomic import atomic_write_text

    extractor = FormExtractor(folder)
    best: tuple[float, float, float, float] | None = None
    for join in (0.4, 0.5, 0.6, 0.7):
        for link in (0.3, 0.4, 0.5):
            extractor.join_threshold, extractor.link_threshold = join, link
            s = evaluate_form(extractor, pages)
            key = (round(s["entity_f1"], 4), round(s["link_f1"], 4), join, link)
            if best is None or key[:2] > best[:2]:
                best = key
    assert best is not None
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config.update({"join_threshold": best[2], "link_threshold": best[3], "thresholds_from": "training pages"})
    atomic_write_text(folder / "config.json", json.dumps(config, indent=2) + "\n")
    return {"join_threshold": best[2], "link_threshold": best[3]}


# ----------------------------------------------------------------------------------------------- scoring


def _iou(a: Box, b: Box) -> float:
    ix = max(min(a[2], b[2]) - max(a[0], b[0]), 0.0)
    iy = max(min(a[3], b[3]) - max(a[1], b[1]), 0.0)
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def match_entities(pred: FormResult, truth: LabelledPage, same_words: bool) -> dict[int, int]:
    """Predicted entity → true entity, one to one, for entities that count: the same label and the same words
    (``same_words``: the very word indices, for labelled-word input; otherwise, for OCR words, the same text
    after collapsing whitespace and boxes overlapping by IoU ≥ 0.5)."""
    out: dict[int, int] = {}
    if same_words:
        index = {frozenset(g): k for k, g in enumerate(truth.groups)}
        for k, e in enumerate(pred.entities):
            t = index.get(frozenset(e.words))
            if t is not None and truth.labels[t] == e.label:
                out[k] = t
        return out
    used: set[int] = set()
    tboxes = [union_of(truth.words, g) for g in truth.groups]
    ttexts = [" ".join(" ".join(truth.words[i].text for i in g).split()) for g in truth.groups]
    for k, e in enumerate(pred.entities):
        text = " ".join(e.text(pred.words).split())
        box = e.box(pred.words)
        for t, (tt, tb) in enumerate(zip(ttexts, tboxes, strict=True)):
            if t in used or truth.labels[t] != e.label or tt != text or _iou(box, tb) < 0.5:
                continue
            out[k] = t
            used.add(t)
            break
    return out


def union_of(words: Sequence[Word], group: Sequence[int]) -> Box:
    from textlens.document import union_box

    return union_box(words[i].box for i in group)


def _prf(tp: int, n_pred: int, n_true: int) -> tuple[float, float, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_true if n_true else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def score_forms(results: Sequence[tuple[FormResult, LabelledPage]], same_words: bool) -> dict[str, Any]:
    """Entity and link precision / recall / F1 (micro over pages), with per-label entity F1."""
    tp = n_pred = n_true = 0
    ltp = l_pred = l_true = 0
    per = {c: [0, 0, 0] for c in LABELS}
    for pred, truth in results:
        matched = match_entities(pred, truth, same_words)
        tp += len(matched)
        n_pred += len(pred.entities)
        n_true += len(truth.groups)
        for k, e in enumerate(pred.entities):
            per[LABELS[e.label]][1] += 1
            if k in matched:
                per[LABELS[e.label]][0] += 1
        for lab in truth.labels:
            per[LABELS[lab]][2] += 1
        l_pred += len(pred.links)
        l_true += len(truth.links)
        ltp += sum(1 for i, j, _ in pred.links if (matched.get(i), matched.get(j)) in truth.links)
    p, r, f = _prf(tp, n_pred, n_true)
    lp, lr, lf = _prf(ltp, l_pred, l_true)
    out: dict[str, Any] = {"pages": len(results), "entity_precision": p, "entity_recall": r, "entity_f1": f,
                           "link_precision": lp, "link_recall": lr, "link_f1": lf,
                           "entities": n_true, "links": l_true}  # fmt: skip
    for c, (a, b, t) in per.items():
        out[f"{c}_f1"] = _prf(a, b, t)[2]
    return out


def evaluate_form(extractor: FormExtractor, pages: Sequence[LabelledPage],
                  given_entities: bool = False) -> dict[str, Any]:  # fmt: skip
    """Scores of ``extractor`` on labelled words (the anchors' protocol); ``given_entities``: the true word groups
    are given and only labels and links are predicted (a diagnostic, not the metric)."""
    started = time.perf_counter()
    results = [(extractor.analyse(p.words, p.width, p.height, p.groups if given_entities else None), p)
               for p in pages]  # fmt: skip
    seconds = time.perf_counter() - started
    out = score_forms(results, same_words=True)
    out["extract_s_per_page"] = seconds / max(len(pages), 1)
    return out


def evaluate_form_records(
    extractor: FormExtractor,
    records: Sequence[dict[str, Any]],
    root: Path,
    input_: str = "ocr",
    cache: Path | None = None,
    threads: int | None = None,
) -> dict[str, Any]:
    """``textlens eval extract --task form``: ``input_`` "gt" analyses the labelled words (boxes and text, not
    their entities), "ocr" the words of our own OCR of each image (or its Document cached as
    ``cache/<stem>.json``); scored by ``score_forms``, with the time per page."""
    from textlens.document import Document

    truths = [labelled_page(r, root) for r in records]
    results = []
    read_s = extract_s = 0.0
    reader = None
    for record, truth in zip(records, truths, strict=True):
        if input_ == "gt":
            words, width, height = truth.words, truth.width, truth.height
        else:
            t0 = time.perf_counter()
            cached = cache / f"{Path(record['image']).stem}.json" if cache is not None else None
            if cached is not None and cached.is_file():
                doc = Document.from_dict(json.loads(cached.read_text(encoding="utf-8"))["document"])
            else:
                if reader is None:
                    from textlens.pipeline import OCR

                    reader = OCR(threads=threads)
                doc = reader.read(root / record["image"])
            read_s += time.perf_counter() - t0
            page = doc.pages[0] if doc.pages else None
            words = list(page.words) if page is not None else []
            width, height = (page.width, page.height) if page is not None else (truth.width, truth.height)
        t1 = time.perf_counter()
        results.append((extractor.analyse(words, width, height), truth))
        extract_s += time.perf_counter() - t1
    out = score_forms(results, same_words=input_ == "gt")
    n = max(len(records), 1)
    out.update({"task": "form", "input": input_, "count": len(records), "extract_s_per_page": extract_s / n,
                "s_per_page": read_s / n if input_ == "ocr" else None})  # fmt: skip
    return out
