"""Training and scoring of the form extractor from labelled pages (FUNSD-style manifest records; numpy only).

A record has ``words`` (``text``, ``box``, ``entity_id``, ``label``) and ``entities`` (``id``, ``label``,
``linking``: pairs of entity ids); ``width``/``height`` when given, else the image's size, else the words' extent.
Metrics (docs/evaluation.md): ``entity_f1`` (an entity counts when its words and its label are exactly right) and
``link_f1`` over question→answer pairs (a link counts when both its entities count and the labels link them).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from textlens.document import Box, Word
from textlens.extract.form import (
    LABELS,
    Entity,
    FormExtractor,
    FormResult,
    Neighbours,
    entity_features,
    entity_neighbours,
    entity_stack,
    entity_tree_features,
    link_candidates,
    link_features,
    neighbours_of,
    pair_features,
    row_segments,
    segment_pairs,
    stacked_features,
    word_features,
)
from textlens.extract.lines import BoostedTrees, LineClassifier, save_npz


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


FOLDS = 4
EDGE_TREES = {"trees": 200, "depth": 5, "rate": 0.1}
SEGMENT_TREES = {"trees": 200, "depth": 4, "rate": 0.1}
ENTITY_TREES = {"trees": 100, "depth": 4, "rate": 0.1}
T = TypeVar("T")
M = TypeVar("M")


@dataclass
class _Prepared:
    """A training page with what every stage needs: neighbours, each word's label and entity, word features."""

    page: LabelledPage
    nb: Neighbours
    word_labels: np.ndarray
    word_groups: np.ndarray
    features: np.ndarray


def _prepare(page: LabelledPage) -> _Prepared:
    nb = neighbours_of(page.words)
    word_labels = np.zeros(len(page.words), dtype=np.int64)
    word_groups = np.full(len(page.words), -1, dtype=np.int64)
    for g, (group, label) in enumerate(zip(page.groups, page.labels, strict=True)):
        word_labels[list(group)] = label
        word_groups[list(group)] = g
    return _Prepared(page, nb, word_labels, word_groups, word_features(page.words, page.width, page.height, nb))


def _cross_fitted(count: int, folds: int, fit: Callable[[list[int]], M], predict: Callable[[M, int], T]) -> list[T]:
    """Each item's prediction by a model fitted without the item's fold (what the later stages train on, so that
    they learn how far to trust an earlier stage on pages it has not seen)."""
    k = max(2, min(folds, count))
    out: list[Any] = [None] * count
    for fold in range(k):
        held = range(fold, count, k)
        model = fit([i for i in range(count) if i % k != fold])
        for i in held:
            out[i] = predict(model, i)
    return out


def _majority(word_groups: np.ndarray, members: Sequence[int]) -> int:
    values, counts = np.unique(word_groups[list(members)], return_counts=True)
    return int(values[np.argmax(counts)])


def train_form(pages: Sequence[LabelledPage], l2: float = 0.03, steps: int = 300, folds: int = FOLDS,
               row_threshold: float = 0.5) -> dict[str, Any]:  # fmt: skip
    """Fit the word, edge, segment, entity and link models; the arrays for ``weights.npz`` and counts.

    The linear word and entity models see the hashed words and overfit the training pages, so the stages after
    them are trained on cross-fitted probabilities (``folds`` folds of the pages); the segment trees see the
    segments that cross-fitted edge probabilities make at ``row_threshold``."""
    prepared = [_prepare(p) for p in pages if p.words]
    n = len(prepared)
    y_words = np.concatenate([p.word_labels for p in prepared])

    def fit_words(idx: list[int]) -> tuple[LineClassifier, LineClassifier]:
        x = np.concatenate([prepared[i].features for i in idx])
        y = np.concatenate([prepared[i].word_labels for i in idx])
        first = LineClassifier.fit(x, y, LABELS, l2=l2, steps=steps, lr=0.5)
        stacked = [stacked_features(prepared[i].features, first.probabilities(prepared[i].features),
                                    prepared[i].nb) for i in idx]  # fmt: skip
        return first, LineClassifier.fit(np.concatenate(stacked), y, LABELS, l2=l2, steps=steps, lr=0.5)

    def word_probs(models: tuple[LineClassifier, LineClassifier], i: int) -> np.ndarray:
        f, nb = prepared[i].features, prepared[i].nb
        return models[1].probabilities(stacked_features(f, models[0].probabilities(f), nb))

    words_model, words2_model = fit_words(list(range(n)))
    wp = _cross_fitted(n, folds, fit_words, word_probs)

    # edges: side by side or one above the other, same entity or not
    ex = [pair_features(p.page.words, p.nb, wp[i]) for i, p in enumerate(prepared)]
    ey = [np.array([int(p.word_groups[a] == p.word_groups[b]) for a, b, _ in p.nb.edges], dtype=np.int64)
          for p in prepared]  # fmt: skip

    def fit_edges(idx: list[int]) -> BoostedTrees:
        x, y = np.concatenate([ex[i] for i in idx]), np.concatenate([ey[i] for i in idx])
        return BoostedTrees.fit(x, y, ("split", "join"), **EDGE_TREES)  # type: ignore[arg-type]

    edges_model = fit_edges(list(range(n)))
    ep = _cross_fitted(n, folds, fit_edges, lambda m, i: m.probabilities(ex[i])[:, 1])

    # segments: row runs one above the other, same entity (the majority entity of each run) or not
    sx, sy = [], []
    for i, p in enumerate(prepared):
        words = p.page.words
        segments = row_segments(words, p.nb.edges, ep[i], row_threshold)
        keys, x = segment_pairs(words, p.page.width, p.page.height, p.nb, segments, ep[i], wp[i])
        sx.append(x)
        sy.append(np.array([int(_majority(p.word_groups, segments[s]) == _majority(p.word_groups, segments[t]))
                            for s, t in keys], dtype=np.int64))  # fmt: skip
    sx_, sy_ = np.concatenate(sx), np.concatenate(sy)
    segments_model = BoostedTrees.fit(sx_, sy_, ("split", "join"), **SEGMENT_TREES)  # type: ignore[arg-type]

    # entities (the true word groups): two linear passes, then trees over their cross-fitted probabilities
    true_entities = [[Entity(g, lab) for g, lab in zip(p.page.groups, p.page.labels, strict=True)]
                     for p in prepared]  # fmt: skip
    nx = [entity_features(true_entities[i], p.page.words, p.page.width, p.page.height, wp[i])
          for i, p in enumerate(prepared)]  # fmt: skip
    nn = [entity_neighbours(true_entities[i], p.page.words) for i, p in enumerate(prepared)]
    ny = [np.array(p.page.labels, dtype=np.int64) for p in prepared]

    def fit_entities(idx: list[int]) -> tuple[LineClassifier, LineClassifier]:
        x, y = np.concatenate([nx[i] for i in idx]), np.concatenate([ny[i] for i in idx])
        first = LineClassifier.fit(x, y, LABELS, l2=l2, steps=steps, lr=0.5)
        x2 = np.concatenate([entity_stack(nx[i], first.probabilities(nx[i]), nn[i]) for i in idx])
        return first, LineClassifier.fit(x2, y, LABELS, l2=l2, steps=steps, lr=0.5)

    def entity_probs(models: tuple[LineClassifier, LineClassifier], i: int) -> np.ndarray:
        return models[1].probabilities(entity_stack(nx[i], models[0].probabilities(nx[i]), nn[i]))

    entities_model, entities2_model = fit_entities(list(range(n)))
    second = _cross_fitted(n, folds, fit_entities, entity_probs)
    tx = np.concatenate([entity_tree_features(nx[i], second[i], nn[i]) for i in range(n)])
    ny_ = np.concatenate(ny)
    entities3_model = BoostedTrees.fit(tx, ny_, LABELS, **ENTITY_TREES)  # type: ignore[arg-type]

    # links: every (question, answer) pair of the true entities and labels
    lx, ly = [], []
    for i, p in enumerate(prepared):
        for e in true_entities[i]:
            e.probs = np.eye(len(LABELS), dtype=np.float32)[e.label]
        pairs = link_candidates(true_entities[i])
        if pairs:
            lx.append(link_features(true_entities[i], p.page.words, p.page.width, p.page.height, pairs))
            ly.append(np.array([int(q in p.page.links) for q in pairs]))
    lx_, ly_ = np.concatenate(lx), np.concatenate(ly)
    links_model = LineClassifier.fit(lx_, ly_, ("no", "link"), l2=l2, steps=steps, lr=0.5)
    ey_ = np.concatenate(ey)
    return {
        "arrays": {
            **words_model.arrays("words"),
            **words2_model.arrays("words2"),
            **edges_model.arrays("edges"),
            **segments_model.arrays("segments"),
            **entities_model.arrays("entities"),
            **entities2_model.arrays("entities2"),
            **entities3_model.arrays("entities3"),
            **links_model.arrays("links"),
        },
        "counts": {
            "pages": n,
            "words": {c: int(k) for c, k in zip(LABELS, np.bincount(y_words, minlength=4), strict=True)},
            "entities": {c: int(k) for c, k in zip(LABELS, np.bincount(ny_, minlength=4), strict=True)},
            "edges": {"split": int((ey_ == 0).sum()), "join": int(ey_.sum())},
            "segment_pairs": {"split": int((sy_ == 0).sum()), "join": int(sy_.sum())},
            "link_pairs": {"no": int((ly_ == 0).sum()), "link": int(ly_.sum())},
        },
        "settings": {
            "folds": folds,
            "edge_trees": EDGE_TREES,
            "segment_trees": SEGMENT_TREES,
            "entity_trees": ENTITY_TREES,
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
        "row_threshold": 0.5,
        "column_threshold": 0.5,
        "link_threshold": 0.5,
        **config,
        "settings": trained.get("settings", {}),
        "counts": trained["counts"],
    }
    atomic_write_text(folder / "config.json", json.dumps(full, indent=2) + "\n")


ROW_THRESHOLDS = (0.4, 0.5, 0.6)
COLUMN_THRESHOLDS = (0.4, 0.5, 0.6)
LINK_THRESHOLDS = (0.3, 0.4, 0.5)


def choose_thresholds(folder: Path, pages: Sequence[LabelledPage], folds: int = FOLDS) -> dict[str, float]:
    """The row, column and link thresholds, chosen inside the training ``pages`` (the validation part is not
    looked at): a model is fitted on all but one fold of them (every ``folds``-th page held out) and scored on
    that fold, first the row × column grid by entity F1 (then link F1), then the link threshold by link F1.
    Written into the bundle's config.json."""
    from textlens.io.atomic import atomic_write_text

    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    settings = config.get("train", {})
    pages = [p for p in pages if p.words]
    k = max(2, min(folds, len(pages)))
    held = [p for i, p in enumerate(pages) if i % k == k - 1]
    fitted = [p for i, p in enumerate(pages) if i % k != k - 1]
    trained = train_form(fitted, l2=float(settings.get("l2", 0.03)), steps=int(settings.get("steps", 300)),
                         folds=folds)  # fmt: skip
    extractor = FormExtractor.from_arrays(trained["arrays"], {"link_threshold": 0.4})
    best: tuple[float, float, float, float] | None = None
    for row in ROW_THRESHOLDS:
        for column in COLUMN_THRESHOLDS:
            extractor.row_threshold, extractor.column_threshold = row, column
            s = evaluate_form(extractor, held)
            key = (round(s["entity_f1"], 4), round(s["link_f1"], 4), row, column)
            if best is None or key[:2] > best[:2]:
                best = key
    assert best is not None
    extractor.row_threshold, extractor.column_threshold = best[2], best[3]
    link_best: tuple[float, float] | None = None
    for link in LINK_THRESHOLDS:
        extractor.link_threshold = link
        f = round(evaluate_form(extractor, held)["link_f1"], 4)
        if link_best is None or f > link_best[0]:
            link_best = (f, link)
    assert link_best is not None
    chosen = {"row_threshold": best[2], "column_threshold": best[3], "link_threshold": link_best[1]}
    config.update({**chosen, "thresholds_from": f"training pages: fitted on {len(fitted)}, scored on {len(held)}"})
    atomic_write_text(folder / "config.json", json.dumps(config, indent=2) + "\n")
    return chosen


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
