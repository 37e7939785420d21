"""Plain-text writer: the document's words in reading order, laid out like Tesseract's txt output.

Words are joined by spaces, lines by newlines, blocks by a blank line; every page ends with a
newline and pages are separated by a form feed (U+000C).

With ``dehyphenate`` (the default here; geometry outputs always keep the words as read) a word broken
by a hyphen at the end of a line is joined back: see :func:`dehyphenate_lines`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np

from textlens.document import Block, Document, Page

#: Hyphens that break a word at a line's end: hyphen-minus, the soft hyphen and the Unicode hyphen.
LINE_END_HYPHENS = "-\u00ad\u2010"
_WORD_CHARS = re.compile(r"[^\W_]+(?:[-\u2010][^\W_]+)*")  # letters and digits, inner hyphens kept


def _broken_word(line: str) -> str | None:
    """The fragment before a line-end hyphen ("infor" of "... infor-"), or None when the line does not end
    in a word broken by a hyphen (a lone "-", "--", or a hyphen after a non-letter)."""
    last = line.rsplit(" ", 1)[-1]
    if len(last) < 2 or last[-1] not in LINE_END_HYPHENS or not last[-2].isalpha():
        return None
    return last[:-1]


def _known_forms(lines: Iterable[str]) -> set[str]:
    """Lower-cased words as they stand inside lines (hyphenated compounds kept whole): evidence of how the
    document itself spells a word that a line break cut."""
    return {m.group(0).lower() for line in lines for m in _WORD_CHARS.finditer(line)}


def dehyphenate_lines(lines: Sequence[str], known: set[str] | None = None) -> list[str]:
    """Lines with words broken by a hyphen at a line's end joined back onto the first line.

    The rule: a line ending in a word whose last character is a hyphen (``-``, U+00AD or U+2010) after a
    letter, followed by a line starting with a lower-case letter, is a word broken at the line's end. The
    continuation (the next line's first word) moves up to join it: a soft hyphen always goes
    (``infor-`` + ``mation`` → ``information``); a plain hyphen goes too, unless the document spells the
    hyphenated form elsewhere inside a line and never the joined one (``known``: lower-cased words as
    :func:`_known_forms` collects them), so a compound the text writes with a hyphen keeps it
    (``Region-`` + ``based`` → ``Region-based`` when ``region-based`` appears elsewhere, else
    ``Regionbased``). A continuation in capitals or digits (``ISO-`` + ``8859``, ``Region-`` + ``Based``)
    is left on its line: such a hyphen is usually part of the name. A line emptied by the move is dropped.
    """
    known = known if known is not None else _known_forms(lines)
    out = list(lines)
    i = 0
    while i + 1 < len(out):
        fragment = _broken_word(out[i])
        following = out[i + 1]
        if fragment is None or not following[:1].islower():
            i += 1
            continue
        continuation, _, rest = following.partition(" ")
        hyphen = out[i][-1]
        head = _WORD_CHARS.findall(fragment)
        tail = _WORD_CHARS.findall(continuation)
        compound = (head[-1] if head else fragment) + "-" + (tail[0] if tail else continuation)
        joined = compound.replace("-", "", 1)
        keep = hyphen != "\u00ad" and compound.lower() in known and joined.lower() not in known
        out[i] = out[i][:-1] + (hyphen if keep else "") + continuation
        if rest:
            out[i + 1] = rest
        else:
            del out[i + 1]  # the next line was the continuation alone: the line after it may continue too
    return out


def block_text(block: Block, dehyphenate: bool = False, known: set[str] | None = None) -> str:
    """A block's text (``Block.text``), with words broken at line ends joined when ``dehyphenate``."""
    text = block.text
    if not dehyphenate or "\n" not in text:
        return text
    return "\n".join(dehyphenate_lines(text.split("\n"), known))


def page_text(page: Page, dehyphenate: bool = False, known: set[str] | None = None) -> str:
    """One page's text: blocks separated by blank lines, ending with a newline when not empty; with
    ``dehyphenate``, words broken at line ends are joined (inside a block; see :func:`dehyphenate_lines`)."""
    if dehyphenate and known is None:
        known = _known_forms(line.text for line in page.lines)
    text = "\n\n".join(block_text(block, dehyphenate, known) for block in page.blocks)
    return text + "\n" if text else ""


def render(document: Document, images: Sequence[np.ndarray | None] | None = None, *, dehyphenate: bool = True) -> str:
    """The document as plain text (``images`` is accepted for a uniform signature and ignored); words broken
    by a hyphen at a line's end are joined unless ``dehyphenate=False``."""
    known = _known_forms(line.text for page in document.pages for line in page.lines) if dehyphenate else None
    return "\f".join(page_text(page, dehyphenate, known) for page in document.pages)
