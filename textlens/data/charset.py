"""Charsets, decoder kinds and the tokenizers that own every recogniser's class layout.

A recogniser's output classes are its tokenizer's: special ids first, then the charset's characters in
order. Models, training, fine-tuning, export and the runtime decoders all ask the tokenizer
(:func:`tokenizer_for`) for ``num_classes``, the special ids and the id of a character; nothing else
computes an offset. Torch- and numpy-free: the runtime imports it.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar

from textlens.errors import ConfigError

PRINTABLE_ASCII = "".join(chr(c) for c in range(33, 127))  # the 94 printable characters, space excluded
COMMON_SYMBOLS = "€£¥°©®§±×÷µ¢"
LATIN = PRINTABLE_ASCII + COMMON_SYMBOLS
DIGITS = string.digits
DEVANAGARI = "".join(chr(c) for c in range(0x0900, 0x0980) if unicodedata.category(chr(c)) != "Cn")
HANGUL_JAMO = "".join(chr(c) for c in range(0x3131, 0x318F))

# The extended Latin charset: Latin-1 Supplement and Latin Extended-A letters (the compatibility ones, which
# print as two letters or as a look-alike, left out: Ĳ ĳ Ŀ ŀ ŉ ſ), Romanian's comma-below letters, typographic
# punctuation and the common symbols. Letters of the blocks skip × and ÷ (symbols, already in LATIN).
LATIN1_LETTERS = "".join(chr(c) for c in range(0xC0, 0x100) if unicodedata.category(chr(c)).startswith("L"))
LATIN_EXT_A_LETTERS = "".join(chr(c) for c in range(0x100, 0x180) if unicodedata.normalize("NFKC", chr(c)) == chr(c))
ROMANIAN_COMMA_BELOW = "ȘșȚț"  # the cedilla forms Ş ş Ţ ţ (Turkish, old Romanian fonts) are in Extended-A
TYPOGRAPHIC_PUNCTUATION = "–—‘’‚“”„«»‹›•…‰†‡′″¡¿·"
EXTRA_SYMBOLS = "¶™½¼¾²³¹ªº№¬¦"
# LATIN's characters first, in their order, so a latin_ext model keeps every latin class id (a finetune from a
# latin recogniser maps every old class; textlens.train.finetune remaps rows by character).
LATIN_EXT = "".join(
    dict.fromkeys(
        LATIN + LATIN1_LETTERS + LATIN_EXT_A_LETTERS + ROMANIAN_COMMA_BELOW + TYPOGRAPHIC_PUNCTUATION + EXTRA_SYMBOLS
    )
)


# --- Devanagari (Hindi, Marathi, Nepali): the letters and signs a line is written with, all NFC. Conjuncts and
# half forms are not characters: the shaping engine draws them from consonant + virama + consonant. The nukta
# letters क़ ख़ ग़ ज़ ड़ ढ़ फ़ य़ (U+0958-095F) are left out: NFC decomposes them into consonant + nukta (composition
# exclusions), so a label never holds them; ऩ ऱ ऴ (U+0929, 0931, 0934) stay: NFC composes them.
def _code_points(*ranges: tuple[int, int]) -> str:
    return "".join(chr(c) for start, end in ranges for c in range(start, end + 1))


DEVANAGARI_CONSONANTS = _code_points((0x0915, 0x0939))  # क … ह, with ऩ ऱ ळ ऴ (Marathi writes ळ)
DEVANAGARI_VOWELS = _code_points((0x0905, 0x0914)) + "ॠॡॲ"  # independent vowels; ॲ: Marathi's candra a
DEVANAGARI_MATRAS = _code_points((0x093E, 0x094C)) + "\u0962\u0963"  # ा ि ी ु ू ृ ॄ ॅ ॆ े ै ॉ ॊ ो ौ ॢ ॣ
DEVANAGARI_VIRAMA = "\u094d"
DEVANAGARI_NUKTA = "\u093c"
DEVANAGARI_SIGNS = "\u0901\u0902\u0903" + "ऽॐ"  # chandrabindu, anusvara, visarga; avagraha, om
DEVANAGARI_DIGITS = _code_points((0x0966, 0x096F))  # ० … ९
DEVANAGARI_PUNCTUATION = "।॥॰"  # danda, double danda, abbreviation sign
DEVANAGARI_SCRIPT = (
    DEVANAGARI_CONSONANTS
    + DEVANAGARI_VOWELS
    + DEVANAGARI_MATRAS
    + DEVANAGARI_VIRAMA
    + DEVANAGARI_NUKTA
    + DEVANAGARI_SIGNS
    + DEVANAGARI_DIGITS
    + DEVANAGARI_PUNCTUATION
)
# Hindi, Marathi and Nepali print mixes Latin words, ASCII digits and ASCII punctuation into Devanagari lines,
# and prices carry the rupee sign.
DEVANAGARI_LINES = DEVANAGARI_SCRIPT + LATIN + "₹"


def ks_x_1001_hangul() -> str:
    """The 2,350 precomposed Hangul syllables of KS X 1001 (the Korean national charset), in its order.

    Derived from the codec, not a table: the syllable rows of EUC-KR are lead bytes 0xB0-0xC8 with trail bytes
    0xA1-0xFE; every such pair decodes to one syllable.
    """
    syllables = []
    for lead in range(0xB0, 0xC9):
        for trail in range(0xA1, 0xFF):
            syllables.append(bytes((lead, trail)).decode("euc_kr"))
    return "".join(syllables)


HANGUL_KS_X_1001 = ks_x_1001_hangul()
# Symbols of Korean print beyond ASCII: the won sign, middle dot, reference mark and the CJK brackets.
KOREAN_SYMBOLS = "₩·※〈〉《》「」『』“”‘’…"
HANGUL_LINES = HANGUL_KS_X_1001 + PRINTABLE_ASCII + KOREAN_SYMBOLS

# Typographic ligatures (ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ): labels spell them as their letters.
LIGATURES = {chr(c): unicodedata.normalize("NFKC", chr(c)) for c in range(0xFB00, 0xFB07)}
_LIGATURE_TABLE = str.maketrans(LIGATURES)

NAMED_CHARSETS: dict[str, str] = {
    "latin": LATIN,
    "latin_ext": LATIN_EXT,
    "ascii": PRINTABLE_ASCII,
    "digits": DIGITS,
    "devanagari": DEVANAGARI + DIGITS,
    "deva": DEVANAGARI_LINES,
    "hangul": HANGUL_LINES,
}


DEFAULT_CHARSET = "latin"


def normalize_label(text: str) -> str:
    """A transcription as recognisers learn and are scored on it: NFC, ligatures spelt out (ﬁ → fi), case kept.

    Only the ligature code points go through NFKC: the rest of the text keeps its compatibility characters
    (², ½, µ, №), which are classes of their own.
    """
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).translate(_LIGATURE_TABLE))


def resolve_charset(spec: str) -> str:
    """A named charset (``latin``, ``latin_ext``, ``ascii``, ``digits``, ``devanagari``, ``deva``, ``hangul``) or a
    literal string of characters."""
    return NAMED_CHARSETS.get(spec, spec)


@dataclass(frozen=True)
class Charset:
    """An ordered set of characters; the space character is always included, first.

    Class ids are the tokenizers' (:func:`tokenizer_for`), not the charset's.
    """

    chars: str

    def __post_init__(self) -> None:
        # First occurrences in order (a dict keeps insertion order): linear, for charsets of thousands (Hangul).
        object.__setattr__(self, "chars", "".join(dict.fromkeys(" " + self.chars)))

    @classmethod
    def from_spec(cls, spec: str = DEFAULT_CHARSET) -> Charset:
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
        """Drop the characters the charset cannot express (after :func:`normalize_label`: NFC, ligatures spelt
        out)."""
        return "".join(ch for ch in normalize_label(text) if ch in self._index)


class DecoderKind(str, Enum):
    """How a recogniser's outputs become text; the value is what ``config.json`` says (``"decoder"``).

    ``ctc``: per time step a class, blank included (CRNN). ``attention``: autoregressive tokens ending at EOS.
    ``parallel``: one token per position at once, ending at EOS (ViTSTR), with the attention layout.
    A ``str`` subclass, so ``DecoderKind.CTC == "ctc"`` and it writes to JSON as ``"ctc"``.
    """

    CTC = "ctc"
    ATTENTION = "attention"
    PARALLEL = "parallel"

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def parse(cls, value: object) -> DecoderKind:
        """The kind named by ``value`` (a kind or its string); a ConfigError names the known ones."""
        try:
            return cls(value)
        except ValueError:
            known = ", ".join(kind.value for kind in cls)
            raise ConfigError(f"unknown decoder {value!r} (expected one of {known})") from None

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> DecoderKind:
        """The kind of a recognition ``config.json`` (``ctc`` when it names none, as every bundle before it)."""
        return cls.parse(config.get("decoder", cls.CTC.value))


class Tokenizer:
    """A recogniser's class layout: ``specials`` (name → id) first, then the charset's characters from ``offset``.

    ``num_classes`` is the size of the output layer; ``index`` maps each character to its class id.
    """

    specials: ClassVar[dict[str, int]] = {}
    offset: ClassVar[int] = 0

    def __init__(self, charset: Charset | str) -> None:
        self.charset = charset if isinstance(charset, Charset) else Charset(charset)
        self.chars = self.charset.chars
        self.index = {c: i + self.offset for i, c in enumerate(self.chars)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.chars)} characters, {self.num_classes} classes)"

    @property
    def num_classes(self) -> int:
        return len(self.chars) + self.offset

    def is_char(self, class_id: int) -> bool:
        """Whether ``class_id`` is a character's (not a special id, not beyond the layout)."""
        return self.offset <= class_id < self.num_classes

    def char(self, class_id: int) -> str:
        """The character of a class id (``is_char`` must hold)."""
        return self.chars[class_id - self.offset]

    def class_rows(self) -> dict[str, int]:
        """Every class by name: the specials (``<blank>``, ``<pad>``…) and each character; for remapping
        a classifier from one charset to another."""
        return {**self.specials, **self.index}

    def char_ids(self, text: str) -> list[int]:
        """The class ids of ``text``'s characters; a ConfigError names those outside the charset."""
        missing = [ch for ch in text if ch not in self.index]
        if missing:
            raise ConfigError(f"text {text!r} has characters outside the charset: {''.join(set(missing))!r}")
        return [self.index[ch] for ch in text]

    def encode(self, text: str) -> list[int]:
        raise NotImplementedError

    def decode(self, ids: Iterable[int]) -> str:
        raise NotImplementedError


class CTCTokenizer(Tokenizer):
    """CTC labels: 0 is the blank, character ``i`` of the charset is class ``i + 1``."""

    blank: ClassVar[int] = 0
    specials: ClassVar[dict[str, int]] = {"<blank>": 0}
    offset: ClassVar[int] = 1

    def encode(self, text: str) -> list[int]:
        """The label sequence of ``text`` (no blanks: the CTC loss places them)."""
        return self.char_ids(text)

    def decode(self, ids: Iterable[int]) -> str:
        """The text of a label sequence (already collapsed: see :meth:`collapse`); blanks are skipped."""
        return "".join(self.char(i) for i in ids if self.is_char(i))

    @classmethod
    def collapse(cls, path: Sequence[int]) -> list[int]:
        """Greedy CTC collapse of a best path: merge repeats, then drop blanks (needs no charset)."""
        out: list[int] = []
        prev = -1
        for token in path:
            if token != prev and token != cls.blank:
                out.append(int(token))
            prev = token
        return out


class AttentionTokenizer(Tokenizer):
    """Attention and parallel decoder tokens: 0 PAD, 1 SOS, 2 EOS, characters from 3; [SOS] text [EOS] PAD…"""

    pad: ClassVar[int] = 0
    sos: ClassVar[int] = 1
    eos: ClassVar[int] = 2
    specials: ClassVar[dict[str, int]] = {"<pad>": 0, "<sos>": 1, "<eos>": 2}
    offset: ClassVar[int] = 3

    def encode(self, text: str, max_len: int | None = None) -> list[int]:
        """``[SOS] text [EOS]``; with ``max_len``, cut or padded with PAD to ``max_len + 2`` ids."""
        ids = [self.sos, *self.char_ids(text), self.eos]
        if max_len is not None:
            ids = ids[: max_len + 2] + [self.pad] * max(0, max_len + 2 - len(ids))
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """The text of a token sequence: characters up to the first EOS (SOS, PAD and unknown ids skipped)."""
        chars: list[str] = []
        for i in ids:
            if i == self.eos:
                break
            if self.is_char(i):
                chars.append(self.char(i))
        return "".join(chars)


TOKENIZERS: dict[DecoderKind, type[Tokenizer]] = {
    DecoderKind.CTC: CTCTokenizer,
    DecoderKind.ATTENTION: AttentionTokenizer,
    DecoderKind.PARALLEL: AttentionTokenizer,
}


def tokenizer_for(charset: Charset | str, kind: DecoderKind | str) -> Tokenizer:
    """The tokenizer of a decoder kind over a charset (a Charset, or its character string as in config.json)."""
    return TOKENIZERS[DecoderKind.parse(kind)](charset)


def default_num_classes(kind: DecoderKind | str, charset: str = DEFAULT_CHARSET) -> int:
    """The output size of a ``kind`` model over a named charset (the registered architectures' default)."""
    return tokenizer_for(Charset.from_spec(charset), kind).num_classes
