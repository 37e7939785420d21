"""Charsets and the tokenizers (CTC and attention) every recogniser shares."""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from textlens.errors import ConfigError

PRINTABLE_ASCII = "".join(chr(c) for c in range(33, 127))  # the 94 printable characters, space excluded
COMMON_SYMBOLS = "€£¥°©®§±×÷µ¢"
LATIN = PRINTABLE_ASCII + COMMON_SYMBOLS
DIGITS = string.digits
DEVANAGARI = "".join(chr(c) for c in range(0x0900, 0x0980) if unicodedata.category(chr(c)) != "Cn")
HANGUL_JAMO = "".join(chr(c) for c in range(0x3131, 0x318F))

NAMED_CHARSETS: dict[str, str] = {
    "latin": LATIN,
    "ascii": PRINTABLE_ASCII,
    "digits": DIGITS,
    "devanagari": DEVANAGARI + DIGITS,
}


def resolve_charset(spec: str) -> str:
    """A named charset (``latin``, ``ascii``, ``digits``, ``devanagari``) or a literal string of characters."""
    return NAMED_CHARSETS.get(spec, spec)


@dataclass(frozen=True)
class Charset:
    """An ordered set of characters; the space character is always included as a token.

    Token ids for CTC: 0 is the blank, characters follow from 1. For attention decoders: 0 is
    padding, 1 start-of-sequence, 2 end-of-sequence, characters follow from 3.
    """

    chars: str

    def __post_init__(self) -> None:
        seen: list[str] = []
        for ch in " " + self.chars:
            if ch not in seen:
                seen.append(ch)
        object.__setattr__(self, "chars", "".join(seen))

    @classmethod
    def from_spec(cls, spec: str = "latin") -> Charset:
        return cls(resolve_charset(spec))

    def __len__(self) -> int:
        return len(self.chars)

    def __contains__(self, ch: object) -> bool:
        return isinstance(ch, str) and ch in self._index

    @property
    def _index(self) -> dict[str, int]:
        cached = self.__dict__.get("_index_cache")
        if cached is None:
            cached = {c: i for i, c in enumerate(self.chars)}
            object.__setattr__(self, "_index_cache", cached)
        return cached

    def covers(self, text: str) -> bool:
        return all(ch in self._index for ch in text)

    def filter(self, text: str) -> str:
        """Drop the characters the charset cannot express (after NFC)."""
        return "".join(ch for ch in unicodedata.normalize("NFC", text) if ch in self._index)


class CTCTokenizer:
    """Maps text to CTC label ids (blank = 0) and collapses CTC paths back to text."""

    blank = 0

    def __init__(self, charset: Charset) -> None:
        self.charset = charset
        self.index = {c: i + 1 for i, c in enumerate(charset.chars)}

    @property
    def num_classes(self) -> int:
        return len(self.charset) + 1

    def encode(self, text: str) -> list[int]:
        missing = [ch for ch in text if ch not in self.index]
        if missing:
            raise ConfigError(f"text {text!r} has characters outside the charset: {''.join(set(missing))!r}")
        return [self.index[ch] for ch in text]

    def decode_ids(self, ids: Iterable[int]) -> str:
        return "".join(self.charset.chars[i - 1] for i in ids if 0 < i <= len(self.charset))

    def collapse(self, path: Sequence[int]) -> list[int]:
        """Greedy CTC collapse: merge repeats, then drop blanks."""
        out: list[int] = []
        prev = -1
        for token in path:
            if token != prev and token != self.blank:
                out.append(int(token))
            prev = token
        return out


class AttentionTokenizer:
    """Maps text to attention-decoder ids: [SOS] chars [EOS], padded with PAD."""

    pad, sos, eos = 0, 1, 2
    offset = 3

    def __init__(self, charset: Charset) -> None:
        self.charset = charset
        self.index = {c: i + self.offset for i, c in enumerate(charset.chars)}

    @property
    def num_classes(self) -> int:
        return len(self.charset) + self.offset

    def encode(self, text: str, max_len: int | None = None) -> list[int]:
        ids = [self.sos] + [self.index[ch] for ch in text] + [self.eos]
        if max_len is not None:
            ids = ids[: max_len + 2] + [self.pad] * max(0, max_len + 2 - len(ids))
        return ids

    def decode_ids(self, ids: Iterable[int]) -> str:
        chars: list[str] = []
        for i in ids:
            if i == self.eos:
                break
            if i >= self.offset:
                chars.append(self.charset.chars[i - self.offset])
        return "".join(chars)
