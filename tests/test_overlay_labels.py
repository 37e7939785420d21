"""Overlay labels on dense pages: no two labels overlap, none covers another word, none leaves the page."""

from __future__ import annotations

import io
import itertools

import numpy as np
from PIL import Image

from textlens.document import Document, Word
from textlens.io.write import overlay
from textlens.layout import page_from_words


def _dense_page(line_height: float = 14.0, leading: float = 1.15, lines: int = 40, words: int = 12):
    """A page of small type set tight: ``lines`` rows of ``words`` words, as a manual page at 150 dpi."""
    out = []
    for row, col in itertools.product(range(lines), range(words)):
        x0 = 20 + col * 62
        y0 = 20 + row * line_height * leading
        out.append(Word(f"w{row}x{col}abc", (x0, y0, x0 + 54, y0 + line_height), confidence=0.95))
    return page_from_words(out, width=20 + words * 62 + 20, height=int(40 + lines * line_height * leading))


def _overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_dense_labels_never_overlap_each_other_or_other_words() -> None:
    page = _dense_page()
    labels = overlay.layout_labels(page)
    words = page.words
    assert len(labels) > 0.9 * len(words)  # most words still show their reading (inside their boxes)
    for a, b in itertools.combinations(labels, 2):
        assert not _overlaps(a.rect, b.rect), (words[a.word].text, words[b.word].text)
    for label in labels:
        x0, y0, x1, y1 = label.rect
        assert x0 >= 0 and y0 >= 0 and x1 <= page.width and y1 <= page.height
        assert label.size >= overlay.MIN_LABEL_PX
        others = (w.box for i, w in enumerate(words) if i != label.word)
        if not label.inside:
            assert not any(_overlaps(label.rect, box) for box in others)


def test_sparse_labels_stay_above_their_boxes() -> None:
    page = page_from_words(
        [Word("Invoice", (50, 100, 250, 140)), Word("Total", (50, 300, 180, 340))], width=600, height=400
    )
    labels = overlay.layout_labels(page)
    assert [lb.inside for lb in labels] == [False, False]
    assert all(lb.rect[3] <= page.words[lb.word].box[1] for lb in labels)  # above
    assert labels[0].size == round(0.45 * 40)  # sized by the box height


def test_tiny_words_get_no_unreadable_labels() -> None:
    # 5 px type set solid: no room inside the boxes; only the first row (above) and the last (below) get labels
    page = _dense_page(line_height=5.0, leading=1.0, lines=10, words=5)
    labels = overlay.layout_labels(page)
    assert labels and not any(lb.inside for lb in labels)
    assert {page.words[lb.word].text[:3] for lb in labels} == {"w0x", "w9x"}


def test_dense_overlay_renders_at_page_size() -> None:
    page = _dense_page()
    data = overlay.render(Document(pages=(page,)))
    with Image.open(io.BytesIO(data)) as picture:
        assert picture.size == (page.width, page.height)
        assert np.asarray(picture).std() > 10
