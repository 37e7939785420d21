"""Scoring OCR output as docs/evaluation.md defines it: recognition, pages, digits; no torch needed."""

from textlens.eval.classification import ClassificationScores, score_labels
from textlens.eval.layout import PredWord, merge_words, reading_order, split_line, to_level
from textlens.eval.pages import PRF, PageCounts, PageMatch, PageScores, match_page, prf, summarize_pages
from textlens.eval.recognition import RecognitionScores, score_recognition
from textlens.eval.results import (
    DIGIT_KEYS,
    PAGE_KEYS,
    REC_KEYS,
    DigitResult,
    PageResult,
    RecResult,
    digit_result,
    page_result,
    rec_result,
)
from textlens.eval.runners import (
    document_lines,
    evaluate_digits,
    evaluate_pages,
    evaluate_recognizer,
    peak_rss_mb,
)
from textlens.eval.text import normalize, normalize_ci_alnum

__all__ = [
    "DIGIT_KEYS",
    "PAGE_KEYS",
    "PRF",
    "REC_KEYS",
    "ClassificationScores",
    "DigitResult",
    "PageCounts",
    "PageMatch",
    "PageResult",
    "PageScores",
    "PredWord",
    "RecResult",
    "RecognitionScores",
    "digit_result",
    "document_lines",
    "evaluate_digits",
    "evaluate_pages",
    "evaluate_recognizer",
    "match_page",
    "merge_words",
    "normalize",
    "normalize_ci_alnum",
    "page_result",
    "peak_rss_mb",
    "prf",
    "reading_order",
    "rec_result",
    "score_labels",
    "score_recognition",
    "split_line",
    "summarize_pages",
    "to_level",
]
