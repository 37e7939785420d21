"""Detection, end-to-end, bag-of-words and page-CER scores of predicted words against annotated pages."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from textlens.data.samples import WordAnnotation
from textlens.eval.geometry import box_inside_fraction, polygon_inside_fraction, polygon_iou
from textlens.eval.layout import PredWord, reading_order
from textlens.eval.text import edit_distance, normalize, normalize_ci_alnum, tokens

IouMode = Literal["box", "polygon"]
IOU_THRESHOLD = 0.5
DONT_CARE_INSIDE = 0.5


@dataclass(frozen=True)
class PRF:
    precision: float
    recall: float
    f1: float


def prf(hits: int, n_pred: int, n_gt: int) -> PRF:
    """Precision, recall and F1; with nothing predicted and nothing to find, all three are 1."""
    if n_pred == 0 and n_gt == 0:
        return PRF(1.0, 1.0, 1.0)
    precision = hits / n_pred if n_pred else 0.0
    recall = hits / n_gt if n_gt else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PRF(precision, recall, f1)


@dataclass
class PageCounts:
    """The countable outcome of one page (or of a set, summed): every page metric is a ratio of these."""

    gt: int = 0
    pred: int = 0
    matched: int = 0
    e2e: int = 0
    e2e_ci: int = 0
    bow_gt: int = 0
    bow_pred: int = 0
    bow_hits: int = 0
    cer_edits: int = 0
    cer_chars: int = 0

    def __add__(self, other: PageCounts) -> PageCounts:
        return PageCounts(**{k: getattr(self, k) + getattr(other, k) for k in self.__dataclass_fields__})


@dataclass
class PageMatch:
    """How one page's predictions met its ground truth, kept for error lists and reports."""

    counts: PageCounts
    pairs: list[tuple[int, int, float]] = field(default_factory=list)  # (gt index, pred index, IoU)
    missed: list[int] = field(default_factory=list)  # gt indices
    false_alarms: list[int] = field(default_factory=list)  # pred indices
    dropped: list[int] = field(default_factory=list)  # pred indices inside don't-care regions
    gt_text: str = ""
    pred_text: str = ""

    @property
    def cer(self) -> float:
        c = self.counts
        return c.cer_edits / c.cer_chars if c.cer_chars else float(c.cer_edits > 0)


def _box_iou_matrix(gt: Sequence[WordAnnotation], preds: Sequence[PredWord]) -> np.ndarray:
    if not gt or not preds:
        return np.zeros((len(gt), len(preds)))
    g = np.asarray([w.box for w in gt], dtype=np.float64)[:, None, :]
    p = np.asarray([w.box for w in preds], dtype=np.float64)[None, :, :]
    iw = np.clip(np.minimum(g[..., 2], p[..., 2]) - np.maximum(g[..., 0], p[..., 0]), 0, None)
    ih = np.clip(np.minimum(g[..., 3], p[..., 3]) - np.maximum(g[..., 1], p[..., 1]), 0, None)
    inter = iw * ih
    area_g = np.clip(g[..., 2] - g[..., 0], 0, None) * np.clip(g[..., 3] - g[..., 1], 0, None)
    area_p = np.clip(p[..., 2] - p[..., 0], 0, None) * np.clip(p[..., 3] - p[..., 1], 0, None)
    union = area_g + area_p - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def _polygon_iou_matrix(gt: Sequence[WordAnnotation], preds: Sequence[PredWord]) -> np.ndarray:
    # Only pairs whose boxes touch can overlap as polygons, so the box matrix prunes shapely calls.
    out = np.zeros((len(gt), len(preds)))
    for i, j in zip(*np.nonzero(_box_iou_matrix(gt, preds) > 0), strict=True):
        out[i, j] = polygon_iou(gt[i].polygon or gt[i].box, preds[j].polygon or preds[j].box)
    return out


def greedy_match(iou: np.ndarray, threshold: float = IOU_THRESHOLD) -> list[tuple[int, int, float]]:
    """One-to-one pairs, highest IoU first, each with IoU ≥ ``threshold`` (ties: lower indices first)."""
    rows, cols = np.nonzero(iou >= threshold)
    candidates = sorted(zip(rows.tolist(), cols.tolist(), strict=True), key=lambda rc: (-iou[rc], rc))
    used_g: set[int] = set()
    used_p: set[int] = set()
    pairs = []
    for i, j in candidates:
        if i not in used_g and j not in used_p:
            used_g.add(i)
            used_p.add(j)
            pairs.append((i, j, float(iou[i, j])))
    return pairs


def _in_dont_care(pred: PredWord, regions: Sequence[WordAnnotation], mode: IouMode) -> bool:
    for region in regions:
        if mode == "polygon":
            inside = polygon_inside_fraction(pred.polygon or pred.box, region.polygon or region.box)
        else:
            inside = box_inside_fraction(pred.box, region.box)
        if inside >= DONT_CARE_INSIDE:
            return True
    return False


def match_page(gt: Sequence[WordAnnotation], preds: Sequence[PredWord], iou: IouMode = "box") -> PageMatch:
    """Score one page; ``gt`` and ``preds`` must already be at the same level (see ``layout.to_level``)."""
    care = [w for w in gt if not w.is_dont_care]
    care_index = [i for i, w in enumerate(gt) if not w.is_dont_care]
    regions = [w for w in gt if w.is_dont_care]
    matrix = _polygon_iou_matrix(care, preds) if iou == "polygon" else _box_iou_matrix(care, preds)
    local_pairs = greedy_match(matrix)
    matched_g = {i for i, _, _ in local_pairs}
    matched_p = {j for _, j, _ in local_pairs}
    dropped = [j for j, p in enumerate(preds) if j not in matched_p and _in_dont_care(p, regions, iou)]
    dropped_set = set(dropped)
    kept = [p for j, p in enumerate(preds) if j not in dropped_set]
    e2e = sum(normalize(care[i].text) == normalize(preds[j].text) for i, j, _ in local_pairs)
    e2e_ci = sum(normalize_ci_alnum(care[i].text) == normalize_ci_alnum(preds[j].text) for i, j, _ in local_pairs)
    gt_bag = Counter(t for w in care for t in tokens(w.text))
    pred_bag = Counter(t for p in kept for t in tokens(p.text))
    gt_text = normalize(reading_order([(w.text, w.box) for w in care]))
    pred_text = normalize(reading_order([(p.text, p.box) for p in kept]))
    counts = PageCounts(
        gt=len(care),
        pred=len(kept),
        matched=len(local_pairs),
        e2e=e2e,
        e2e_ci=e2e_ci,
        bow_gt=sum(gt_bag.values()),
        bow_pred=sum(pred_bag.values()),
        bow_hits=sum((gt_bag & pred_bag).values()),
        cer_edits=edit_distance(gt_text, pred_text),
        cer_chars=len(gt_text),
    )
    return PageMatch(
        counts=counts,
        pairs=[(care_index[i], j, v) for i, j, v in local_pairs],
        missed=[care_index[i] for i in range(len(care)) if i not in matched_g],
        false_alarms=[j for j in range(len(preds)) if j not in matched_p and j not in dropped_set],
        dropped=dropped,
        gt_text=gt_text,
        pred_text=pred_text,
    )


@dataclass(frozen=True)
class PageScores:
    """Set-level page scores, micro-averaged over pages (counts summed, then divided)."""

    pages: int
    det: PRF
    e2e: PRF
    e2e_ci: PRF
    bow: PRF
    page_cer: float
    counts: PageCounts


def summarize_pages(counts: Iterable[PageCounts]) -> PageScores:
    total = PageCounts()
    pages = 0
    for c in counts:
        total = total + c
        pages += 1
    cer = total.cer_edits / total.cer_chars if total.cer_chars else float(total.cer_edits > 0)
    return PageScores(
        pages=pages,
        det=prf(total.matched, total.pred, total.gt),
        e2e=prf(total.e2e, total.pred, total.gt),
        e2e_ci=prf(total.e2e_ci, total.pred, total.gt),
        bow=prf(total.bow_hits, total.bow_pred, total.bow_gt),
        page_cer=cer,
        counts=total,
    )
