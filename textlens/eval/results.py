"""What an evaluation returns: the scores, every sample's outcome (for error lists and reports), timings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textlens.data.samples import WordAnnotation
from textlens.eval.classification import ClassificationScores, score_labels
from textlens.eval.layout import Level, PredLevel, PredWord, to_level
from textlens.eval.pages import IouMode, PageMatch, PageScores, match_page, summarize_pages
from textlens.eval.recognition import RecognitionScores, sample_similarity, score_recognition

REC_KEYS = ("count", "word_acc", "word_acc_ci_alnum", "cer", "cer_ci_alnum", "ned", "ms_per_item", "init_s")
PAGE_KEYS = (
    "pages",
    "det_precision",
    "det_recall",
    "det_f1",
    "e2e_precision",
    "e2e_recall",
    "e2e_f1",
    "e2e_ci_f1",
    "bow_f1",
    "page_cer",
    "s_per_page",
    "peak_rss_mb",
)
DIGIT_KEYS = ("count", "accuracy", "error")


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(float(value), digits)


@dataclass(frozen=True)
class CropOutcome:
    """One crop: where it is, what it says, what was read, and how close that was (1-NED)."""

    image: Path
    truth: str
    pred: str
    similarity: float
    correct: bool
    confidence: float | None = None
    lang: str | None = None  # the record's ``lang`` (ISO 639-1), where the manifest gives one


@dataclass
class RecResult:
    scores: RecognitionScores
    items: list[CropOutcome]
    ms_per_item: float | None = None
    init_s: float | None = None
    threads: int | None = None

    def to_json(self) -> dict[str, Any]:
        s = self.scores
        return {
            "count": s.count,
            "word_acc": _round(s.word_acc),
            "word_acc_ci_alnum": _round(s.word_acc_ci_alnum),
            "cer": _round(s.cer),
            "cer_ci_alnum": _round(s.cer_ci_alnum),
            "ned": _round(s.ned),
            "ms_per_item": _round(self.ms_per_item, 3),
            "init_s": _round(self.init_s, 3),
            **({"by_lang": self.by_lang_json()} if any(it.lang for it in self.items) else {}),
        }

    def by_lang(self) -> dict[str, RecognitionScores]:
        """Scores per language of the crops that carry one, in order of first appearance."""
        pairs: dict[str, list[tuple[str, str]]] = {}
        for it in self.items:
            if it.lang:
                pairs.setdefault(it.lang, []).append((it.truth, it.pred))
        return {lang: score_recognition(p) for lang, p in pairs.items()}

    def by_lang_json(self) -> dict[str, dict[str, Any]]:
        return {
            lang: {
                "count": s.count,
                "word_acc": _round(s.word_acc),
                "word_acc_ci_alnum": _round(s.word_acc_ci_alnum),
                "cer": _round(s.cer),
                "cer_ci_alnum": _round(s.cer_ci_alnum),
                "ned": _round(s.ned),
            }
            for lang, s in self.by_lang().items()
        }

    def misses(self) -> list[CropOutcome]:
        """Wrong crops, worst (lowest 1-NED) first."""
        return sorted((it for it in self.items if not it.correct), key=lambda it: (it.similarity, str(it.image)))


def rec_result(
    images: list[Path],
    truths: list[str],
    preds: list[str],
    confidences: list[float | None] | None = None,
    langs: list[str | None] | None = None,
    **timing: Any,
) -> RecResult:
    """Build a recognition result from aligned lists of images, truths and predictions (and languages: a
    ``by_lang`` breakdown in the JSON when any crop has one)."""
    confidences = confidences or [None] * len(preds)
    langs = langs or [None] * len(preds)
    items = [
        CropOutcome(
            image=im,
            truth=t,
            pred=p,
            similarity=sample_similarity(t, p),
            correct=sample_similarity(t, p) == 1.0,
            confidence=c,
            lang=g,
        )
        for im, t, p, c, g in zip(images, truths, preds, confidences, langs, strict=True)
    ]
    return RecResult(scores=score_recognition(zip(truths, preds, strict=True)), items=items, **timing)


@dataclass(frozen=True)
class PageOutcome:
    """One page: its ground truth, the predictions at the ground truth's level, and how they matched."""

    image: Path
    gt: tuple[WordAnnotation, ...]
    preds: tuple[PredWord, ...]
    match: PageMatch


@dataclass
class PageResult:
    scores: PageScores
    items: list[PageOutcome]
    level: Level = "word"
    s_per_page: float | None = None
    init_s: float | None = None
    peak_rss_mb: float | None = None

    def to_json(self) -> dict[str, Any]:
        s = self.scores
        return {
            "pages": s.pages,
            "det_precision": _round(s.det.precision),
            "det_recall": _round(s.det.recall),
            "det_f1": _round(s.det.f1),
            "e2e_precision": _round(s.e2e.precision),
            "e2e_recall": _round(s.e2e.recall),
            "e2e_f1": _round(s.e2e.f1),
            "e2e_ci_f1": _round(s.e2e_ci.f1),
            "bow_f1": _round(s.bow.f1),
            "page_cer": _round(s.page_cer),
            "s_per_page": _round(self.s_per_page, 4),
            "peak_rss_mb": _round(self.peak_rss_mb, 1),
        }

    def worst(self) -> list[PageOutcome]:
        """Pages with any error, worst page CER first."""
        bad = [
            p
            for p in self.items
            if p.match.missed or p.match.false_alarms or p.match.cer > 0 or p.match.counts.e2e < p.match.counts.matched
        ]
        return sorted(bad, key=lambda p: (-p.match.cer, str(p.image)))


def page_result(
    images: list[Path],
    gts: list[tuple[WordAnnotation, ...]],
    preds: list[list[PredWord]],
    level: Level = "word",
    pred_level: PredLevel = "auto",
    iou: IouMode = "box",
    **timing: Any,
) -> PageResult:
    """Score aligned pages: predictions are first brought to ``level`` (the ground truth's)."""
    items = []
    for image, gt, raw in zip(images, gts, preds, strict=True):
        leveled = tuple(to_level(raw, level, pred_level))
        items.append(PageOutcome(image=image, gt=gt, preds=leveled, match=match_page(gt, leveled, iou)))
    return PageResult(scores=summarize_pages(it.match.counts for it in items), items=items, level=level, **timing)


@dataclass
class DigitResult:
    scores: ClassificationScores
    items: list[CropOutcome] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.scores.count,
            "accuracy": _round(self.scores.accuracy),
            "error": _round(self.scores.error),
        }

    def misses(self) -> list[CropOutcome]:
        return [it for it in self.items if not it.correct]


def digit_result(images: list[Path], truths: list[str], preds: list[str]) -> DigitResult:
    scores = score_labels(zip(truths, preds, strict=True))
    items = [
        CropOutcome(
            image=im,
            truth=t,
            pred=p,
            similarity=sample_similarity(t, p),
            correct=sample_similarity(t, p) == 1.0,
        )
        for im, t, p in zip(images, truths, preds, strict=True)
    ]
    return DigitResult(scores=scores, items=items)
