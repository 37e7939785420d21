"""TSV writer with exactly Tesseract's columns and levels (1 page, 2 block, 3 paragraph, 4 line, 5 word).

Numbers count from 1 like Tesseract's; each block holds one paragraph; line numbers restart in each
paragraph and word numbers in each line. ``conf`` is -1 on non-word rows and 0-100 on words.
Tabs and newlines inside a word are replaced by spaces so every row keeps 12 columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from textlens.document import Box, Document

COLUMNS = (
    "level",
    "page_num",
    "block_num",
    "par_num",
    "line_num",
    "word_num",
    "left",
    "top",
    "width",
    "height",
    "conf",
    "text",
)


def _geometry(box: Box) -> list[str]:
    x0, y0, x1, y1 = (round(v) for v in box)
    return [str(x0), str(y0), str(max(x1 - x0, 0)), str(max(y1 - y0, 0))]


def _clean(text: str) -> str:
    return text.replace("\t", " ").replace("\r", " ").replace("\n", " ")


def render(document: Document, images: Sequence[np.ndarray | None] | None = None) -> str:
    """The document as Tesseract-style TSV with a header row (``images`` is ignored)."""
    rows = [list(COLUMNS)]
    for p, page in enumerate(document.pages, start=1):
        rows.append(["1", str(p), "0", "0", "0", "0", "0", "0", str(page.width), str(page.height), "-1", ""])
        for b, block in enumerate(page.blocks, start=1):
            assert block.box is not None
            rows.append(["2", str(p), str(b), "0", "0", "0", *_geometry(block.box), "-1", ""])
            rows.append(["3", str(p), str(b), "1", "0", "0", *_geometry(block.box), "-1", ""])
            for n, line in enumerate(block.lines, start=1):
                assert line.box is not None
                rows.append(["4", str(p), str(b), "1", str(n), "0", *_geometry(line.box), "-1", ""])
                for w, word in enumerate(line.words, start=1):
                    conf = f"{min(max(word.confidence, 0.0), 1.0) * 100:.2f}"
                    rows.append(
                        ["5", str(p), str(b), "1", str(n), str(w), *_geometry(word.box), conf, _clean(word.text)]
                    )
    return "".join("\t".join(row) + "\n" for row in rows)
