"""Scripts beyond Latin for synthetic lines: Devanagari (Hindi, Marathi, Nepali) and Hangul (Korean).

- ``SCRIPTS``: each script's charset (``textlens.data.charset``: ``deva``, ``hangul``), the letters a font must
  draw to serve it, the font families held out of training (``HELDOUT_FAMILIES``: the held-out line sets are
  drawn in them), the recogniser it trains and the recipe that trains it.
- ``script_fonts(script, split)``: the installed fonts that draw a script; ``train`` never holds a held-out family.
- ``script_words(lang)``: the words of Debian's dictionaries (hunspell ``hi_IN``, ``ne_NP``, ``ko``; aspell's
  Marathi list read with ``precat``), NFC; ``ScriptText`` composes them into phrases with numbers, dates, prices
  and Latin words at the rates of ``MIX``; ``ScriptSampler`` is the ``TextSampler`` the ``LineRenderer`` uses
  for these languages (``langs=hi+mr+ne`` or ``langs=ko``).
- ``needs_shaping(text)``: whether a text must go through the shaping engine (HarfBuzz via Pillow's RAQM
  layout) rather than glyph by glyph: conjuncts, half forms and the i-matra drawn before its consonant.
- ``grapheme_clusters`` / ``cluster_edit_rate``: the user-perceived characters (the ``regex`` module's ``\\X``)
  for error rates over clusters beside the rate over NFC code points.

The translated message catalogs (``.mo``) installed packages ship are never read here: they are the held-out
text (``recipes/prepare_script_lines.py``).
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from textlens.data.charset import (
    DEVANAGARI_CONSONANTS,
    DEVANAGARI_DIGITS,
    DEVANAGARI_LINES,
    DEVANAGARI_MATRAS,
    DEVANAGARI_NUKTA,
    DEVANAGARI_SIGNS,
    DEVANAGARI_VIRAMA,
    DEVANAGARI_VOWELS,
    HANGUL_KS_X_1001,
    HANGUL_LINES,
    LATIN,
    normalize_label,
)
from textlens.data.synth.fonts import FontInfo, installed_fonts
from textlens.data.synth.languages import MAX_WORDS, WordList, _read_words
from textlens.data.synth.text import _OFFENSIVE, TextSampler, dictionary_words
from textlens.errors import ConfigError

_HUNSPELL = Path("/usr/share/hunspell")
_ASPELL = Path("/usr/share/aspell")

# Code point ranges whose text needs a shaping engine (reordering, conjuncts, contextual forms): the Indic
# scripts, Arabic, Syriac, Thaana, Thai, Lao, Tibetan, Myanmar, Khmer and their extensions. Hangul syllables
# are precomposed: one glyph per code point, so the glyph cache stays exact for Korean.
COMPLEX_RANGES = (
    (0x0590, 0x08FF),  # Hebrew (marks), Arabic, Syriac, Thaana, NKo, Samaritan, Mandaic, Arabic Extended
    (0x0900, 0x0DFF),  # Devanagari … Sinhala
    (0x0E00, 0x0FFF),  # Thai, Lao, Tibetan
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x1CD0, 0x1CFF),  # Vedic Extensions
    (0xA8E0, 0xA8FF),  # Devanagari Extended
    (0xFB50, 0xFEFF),  # Arabic presentation forms
)


_COMPLEX = re.compile("[" + "".join(f"{chr(start)}-{chr(end)}" for start, end in COMPLEX_RANGES) + "]")


def needs_shaping(text: str) -> bool:
    """Whether ``text`` holds a character of a script that glyph-by-glyph drawing gets wrong."""
    return _COMPLEX.search(text) is not None


@dataclass(frozen=True)
class Script:
    """A script the synthetic engine and the recognisers handle beyond Latin."""

    name: str  # also the charset's name in textlens.data.charset.NAMED_CHARSETS
    charset: str
    letters: str  # what a font must draw (90 % of it) to render the script
    word_letters: str  # what a dictionary word may hold (no digits, Latin or signs: the composition adds them)
    langs: tuple[str, ...]
    heldout_families: frozenset[str]  # never rendered for training: the held-out lines are drawn in them
    recognizer: str
    recipe: str


# Font families kept out of training, one per design idea the others lack, so the held-out lines measure
# unseen shapes: Annapurna SIL (a SIL text face with its own conjunct set) and Kalimati (a Nepali face);
# NanumMyeongjo (a serif Myeongjo; the other serif faces, UnBatang and Baekmuk Batang, are other designs) and
# UnDotum (a sans Dotum unlike Nanum's Gothic faces).
HELDOUT_FAMILIES: Mapping[str, frozenset[str]] = {
    "deva": frozenset({"Annapurna SIL", "Kalimati"}),
    "hangul": frozenset({"NanumMyeongjo", "UnDotum"}),
}

SCRIPTS: Mapping[str, Script] = {
    "deva": Script(
        "deva",
        DEVANAGARI_LINES,
        DEVANAGARI_CONSONANTS + DEVANAGARI_VOWELS[:14] + DEVANAGARI_MATRAS[:11] + DEVANAGARI_VIRAMA,
        DEVANAGARI_CONSONANTS
        + DEVANAGARI_VOWELS
        + DEVANAGARI_MATRAS
        + DEVANAGARI_VIRAMA
        + DEVANAGARI_NUKTA
        + DEVANAGARI_SIGNS,
        ("hi", "mr", "ne"),
        HELDOUT_FAMILIES["deva"],
        "crnn_deva",
        "recipes/rec_deva.sh",
    ),
    "hangul": Script(
        "hangul",
        HANGUL_LINES,
        HANGUL_KS_X_1001,
        HANGUL_KS_X_1001,
        ("ko",),
        HELDOUT_FAMILIES["hangul"],
        "crnn_hangul",
        "recipes/rec_hangul.sh",
    ),
}
SCRIPT_OF_LANG: Mapping[str, str] = {lang: s.name for s in SCRIPTS.values() for lang in s.langs}


def script_for_langs(langs: Iterable[str]) -> Script | None:
    """The script of ``langs`` when they are this module's languages (None when none is); a ConfigError when
    they mix scripts, or mix them with Latin languages (one recogniser reads one script)."""
    langs = tuple(langs)
    found = {SCRIPT_OF_LANG.get(lang) for lang in langs}
    if not found or found == {None}:
        return None
    if len(found) > 1:
        raise ConfigError(
            f"langs={'+'.join(langs)} mixes scripts: train one script at a time "
            f"({'; '.join(f'{s.name}: ' + '+'.join(s.langs) for s in SCRIPTS.values())}; Latin languages apart)"
        )
    return SCRIPTS[str(found.pop())]


def font_draws(font: FontInfo, script: Script, min_coverage: float = 0.9) -> bool:
    """Whether ``font`` maps at least ``min_coverage`` of the script's letters."""
    return sum(ord(c) in font.codepoints for c in script.letters) >= min_coverage * len(script.letters)


def script_fonts(
    script: Script | str, split: str | Sequence[str] = "train", fonts: Iterable[FontInfo] | None = None
) -> list[FontInfo]:
    """The fonts that draw ``script``: ``train`` (every family but the held-out ones), ``val`` (the held-out
    families), ``all``, or the given paths or family names; a ConfigError names the packages when none is."""
    script = SCRIPTS[script] if isinstance(script, str) else script
    pool = [f for f in (installed_fonts() if fonts is None else fonts) if font_draws(f, script)]
    if isinstance(split, str) and split in {"train", "val", "all"}:
        chosen = [
            f
            for f in pool
            if split == "all" or (f.family in script.heldout_families) == (split == "val")  # val: held out
        ]
    else:
        names = {split} if isinstance(split, str) else set(split)
        chosen = [f for f in pool if f.path in names or f.family in names or Path(f.path).name in names]
    chosen = [_without_blank_glyphs(f, script.name) for f in chosen]
    if not chosen:
        raise ConfigError(
            f"no installed font draws the {script.name} script for fonts={split!r}: install the font packages of "
            "the Makefile (fonts-noto-core, fonts-deva, fonts-lohit-deva for Devanagari; fonts-nanum, "
            "fonts-unfonts-core, fonts-baekmuk for Hangul)"
        )
    return chosen


@lru_cache(maxsize=256)
def _without_blank_glyphs(font: FontInfo, script_name: str) -> FontInfo:
    """``font`` less the script's spacing characters its cmap maps to an empty glyph (Kalimati's ळ and ऴ, Baekmuk
    Dotum's 쏀): a text holding them would be drawn without them and labelled with them."""
    from PIL import ImageFont

    script = SCRIPTS[script_name]
    try:
        face = ImageFont.truetype(font.path, 24, layout_engine=ImageFont.Layout.BASIC)
    except OSError:
        return font
    blank = set()
    for ch in dict.fromkeys(script.charset):
        if ch.isascii() or ord(ch) not in font.codepoints or unicodedata.category(ch).startswith(("M", "Z")):
            continue
        left, top, right, bottom = face.getbbox(ch)
        if right <= left or bottom <= top:
            blank.add(ord(ch))
    return replace(font, codepoints=font.codepoints - blank) if blank else font


# --- words -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AspellList(WordList):
    """An aspell word list compressed with ``prezip`` (``.cwl.gz``), read through aspell's ``precat``."""


SCRIPT_WORD_LISTS: Mapping[str, tuple[WordList, ...]] = {
    "hi": (WordList(_HUNSPELL / "hi_IN.dic", "hunspell-hi", hunspell=True),),
    "ne": (WordList(_HUNSPELL / "ne_NP.dic", "hunspell-ne", hunspell=True),),
    "mr": (AspellList(_ASPELL / "mr.cwl.gz", "aspell-mr"),),
    "ko": (WordList(_HUNSPELL / "ko_KR.dic", "hunspell-ko", hunspell=True),),
}


def _read_aspell(source: WordList) -> list[str]:
    """The words of a gzipped prezip list: gunzip here, then aspell's ``precat`` undoes the prefix coding."""
    precat = shutil.which("precat")
    if precat is None:
        raise ConfigError(f"reading {source.path} needs aspell's precat: apt-get install aspell")
    try:
        packed = gzip.decompress(source.path.read_bytes())
        out = subprocess.run([precat], input=packed, capture_output=True, check=True, timeout=120).stdout
    except (OSError, EOFError, gzip.BadGzipFile, subprocess.SubprocessError) as exc:
        raise ConfigError(f"cannot read the aspell list {source.path}: {exc}") from exc
    return out.decode("utf-8", "replace").splitlines()


def _is_word(word: str, letters: frozenset[str]) -> bool:
    """A word of the script's letters (digits, Latin words and signs come from the composition) with no
    dangling mark at its start (aspell's Marathi list has a few)."""
    if not word or unicodedata.category(word[0]).startswith("M"):
        return False
    return set(word) <= letters and not _OFFENSIVE.search(word)


@lru_cache(maxsize=8)
def script_words(lang: str) -> tuple[str, ...]:
    """The words of ``lang`` (``hi``, ``mr``, ``ne``, ``ko``), NFC, at most ``MAX_WORDS``; a ConfigError names the
    Debian package when its dictionary is missing."""
    if lang not in SCRIPT_WORD_LISTS:
        raise ConfigError(f"no word list for {lang!r}; known: {', '.join(SCRIPT_WORD_LISTS)}")
    candidates = SCRIPT_WORD_LISTS[lang]
    source = next((c for c in candidates if c.path.is_file()), None)
    if source is None:
        packages = " or ".join(str(c.package) for c in candidates)
        raise ConfigError(
            f"no word list for language {lang!r} at {', '.join(str(c.path) for c in candidates)}: "
            f"install the Debian package {packages} (apt-get install {candidates[0].package})"
        )
    raw = _read_aspell(source) if isinstance(source, AspellList) else _read_words(source)
    script = SCRIPTS[SCRIPT_OF_LANG[lang]]
    letters = frozenset(script.word_letters)
    words = list(dict.fromkeys(w for w in map(normalize_label, raw) if _is_word(w, letters)))
    if len(words) > MAX_WORDS:
        step = len(words) / MAX_WORDS
        words = [words[int(i * step)] for i in range(MAX_WORDS)]
    if not words:
        raise ConfigError(f"the word list {source.path} has no word of the {script.name} script")
    return tuple(words)


# --- phrases ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Mix:
    """How a language mixes other tokens into its words, per token (the rest are words), and how it writes
    them. Rates of running text in newspapers and forms, a little raised so digits are learnt in context."""

    native_digits: float  # share of numbers written in the script's own digits (Devanagari ०-९)
    latin_word: float  # an English word or acronym inside the line (brands, technical terms)
    number: float = 0.08
    date: float = 0.03
    amount: float = 0.03
    comma: float = 0.06  # after a word
    quote: float = 0.02  # a word in quotation marks
    sentence_end: str = "।"
    indian_grouping: bool = True  # 12,34,567 (lakh, crore) rather than 1,234,567
    currencies: tuple[tuple[str, str], ...] = (("₹", ""), ("₹ ", ""), ("", " रुपये"))


# Hindi print uses ASCII digits more than Devanagari ones; Marathi and Nepali print keep their own more often.
MIX: Mapping[str, Mix] = {
    "hi": Mix(native_digits=0.3, latin_word=0.04),
    "mr": Mix(native_digits=0.6, latin_word=0.03, currencies=(("₹", ""), ("₹ ", ""), ("", " रुपये"))),
    "ne": Mix(native_digits=0.7, latin_word=0.03, currencies=(("रु. ", ""), ("रू ", ""), ("", " रुपैयाँ"))),
    "ko": Mix(
        native_digits=0.0,
        latin_word=0.05,
        sentence_end=".",
        indian_grouping=False,
        currencies=(("", "원"), ("₩", ""), ("", " 원")),
    ),
}
_TO_DEVANAGARI_DIGITS = str.maketrans("0123456789", DEVANAGARI_DIGITS)
_KOREAN_DATES = ("{y}년 {m}월 {d}일", "{y}. {m}. {d}.", "{y}-{mm}-{dd}", "{y}.{mm}.{dd}", "{m}월 {d}일")
_DEVANAGARI_DATES = ("{dd}/{mm}/{y}", "{d}/{m}/{y}", "{dd}-{mm}-{y}", "{dd}.{mm}.{y}")


def _pick(rng: np.random.Generator, items: Sequence[str]) -> str:
    return items[int(rng.integers(len(items)))]


def group_digits(value: int, indian: bool) -> str:
    """``value`` with thousands separators: Indian grouping (the last three digits, then pairs) or Western."""
    digits = str(value)
    if not indian or len(digits) <= 3:
        return f"{value:,}"
    head, tail = digits[:-3], digits[-3:]
    pairs = []
    while len(head) > 2:
        pairs.insert(0, head[-2:])
        head = head[:-2]
    return ",".join([head, *pairs, tail])


class ScriptText:
    """Words and phrases of the languages ``langs`` of one script, each phrase in one language."""

    def __init__(self, langs: Sequence[str], words: Mapping[str, Sequence[str]] | None = None) -> None:
        self.langs = tuple(dict.fromkeys(langs))
        script = script_for_langs(self.langs)
        if script is None or not self.langs:
            raise ConfigError(f"langs {list(langs)} are not languages of {', '.join(SCRIPTS)}: {dict(SCRIPT_OF_LANG)}")
        self.script = script
        self.words = {lang: tuple(words[lang]) if words else script_words(lang) for lang in self.langs}
        latin = tuple(w for w in dictionary_words() if w.isascii() and w.isalpha() and len(w) <= 10)
        # English words of the system list, and capitalised acronyms as brands and units are written.
        self.latin = latin or ("OK", "PDF", "TV", "USB", "Wi-Fi", "email", "online", "app")

    def lang(self, rng: np.random.Generator) -> str:
        return _pick(rng, self.langs)

    def word(self, rng: np.random.Generator, lang: str | None = None) -> str:
        return _pick(rng, self.words[lang or self.lang(rng)])

    def _digits(self, text: str, rng: np.random.Generator, lang: str) -> str:
        return text.translate(_TO_DEVANAGARI_DIGITS) if rng.random() < MIX[lang].native_digits else text

    def number(self, rng: np.random.Generator, lang: str) -> str:
        r = rng.random()
        if r < 0.55:
            text = str(int(rng.integers(0, 10 ** int(rng.integers(1, 4)))))
        elif r < 0.8:
            text = group_digits(int(rng.integers(1000, 10_000_000)), MIX[lang].indian_grouping)
        elif r < 0.92:
            text = f"{int(rng.integers(0, 1000))}.{int(rng.integers(0, 100)):02d}"
        else:
            text = f"{int(rng.integers(1, 100))}%"
        return self._digits(text, rng, lang)

    def date(self, rng: np.random.Generator, lang: str) -> str:
        y, m, d = int(rng.integers(1950, 2036)), int(rng.integers(1, 13)), int(rng.integers(1, 29))
        patterns = _KOREAN_DATES if lang == "ko" else _DEVANAGARI_DATES
        return self._digits(_pick(rng, patterns).format(d=d, m=m, y=y, dd=f"{d:02d}", mm=f"{m:02d}"), rng, lang)

    def amount(self, rng: np.random.Generator, lang: str) -> str:
        mix = MIX[lang]
        value = int(rng.integers(1, 10 ** int(rng.integers(2, 8))))
        whole = group_digits(value, mix.indian_grouping) if rng.random() < 0.7 else str(value)
        prefix, suffix = mix.currencies[int(rng.integers(len(mix.currencies)))]
        return prefix + self._digits(whole, rng, lang) + suffix

    def latin_word(self, rng: np.random.Generator) -> str:
        word = _pick(rng, self.latin)
        r = rng.random()
        return word.upper() if r < 0.25 else word.capitalize() if r < 0.5 else word

    def tokens(self, rng: np.random.Generator, n: int, lang: str) -> list[str]:
        mix = MIX[lang]
        kinds = (("number", mix.number), ("date", mix.date), ("amount", mix.amount), ("latin", mix.latin_word))
        out = []
        for _ in range(n):
            r, kind = rng.random(), "word"
            for name, rate in kinds:
                if r < rate:
                    kind = name
                    break
                r -= rate
            if kind == "latin":
                out.append(self.latin_word(rng))
            elif kind != "word":
                out.append(getattr(self, kind)(rng, lang))
            else:
                text = self.word(rng, lang)
                if rng.random() < mix.quote:
                    text = f"“{text}”" if rng.random() < 0.7 else f"‘{text}’"
                if rng.random() < mix.comma:
                    text += ","
                out.append(text)
        return out

    def phrase(self, rng: np.random.Generator, lo: int = 2, hi: int = 6, lang: str | None = None) -> str:
        lang = lang or self.lang(rng)
        return " ".join(self.tokens(rng, int(rng.integers(lo, hi + 1)), lang))

    def sentence(self, rng: np.random.Generator, lang: str | None = None) -> str:
        lang = lang or self.lang(rng)
        text = self.phrase(rng, 3, 8, lang).rstrip(", ")
        end = MIX[lang].sentence_end if rng.random() < 0.75 else _pick(rng, ("?", "!", "", ":"))
        # Hindi sets the danda after a space as often as not; Korean's full stop follows the last syllable.
        gap = " " if end == "।" and rng.random() < 0.4 else ""
        return text + gap + end


def random_syllable(rng: np.random.Generator, script: Script) -> str:
    """One random well-formed cluster: a Hangul syllable of KS X 1001, or a Devanagari consonant with an
    optional conjunct, matra and anusvara/chandrabindu (the source that shows rare clusters often enough)."""
    if script.name == "hangul":
        return _pick(rng, HANGUL_KS_X_1001)
    if rng.random() < 0.12:
        return _pick(rng, DEVANAGARI_VOWELS[:11]) + ("ं" if rng.random() < 0.1 else "")
    text = _pick(rng, DEVANAGARI_CONSONANTS)
    if rng.random() < 0.2:
        text += DEVANAGARI_VIRAMA + _pick(rng, DEVANAGARI_CONSONANTS)
    if rng.random() < 0.6:
        text += _pick(rng, DEVANAGARI_MATRAS[:13])
    if rng.random() < 0.12:
        text += _pick(rng, "ंँ")
    return text


# Punctuation around a word in Devanagari and Korean print (ASCII, as both scripts borrow it).
_SCRIPT_WRAPS = (("", ":"), ("", ","), ("(", ")"), ("“", "”"), ("'", "'"), ("", "?"), ("", "!"), ("", "-"))


def _cluster_starts(text: str) -> list[int]:
    """Offsets where a cut leaves every cluster whole: not before a combining mark, not after a virama."""
    return [
        i
        for i in range(len(text) + 1)
        if i in (0, len(text))
        or (not unicodedata.category(text[i]).startswith("M") and text[i - 1] != DEVANAGARI_VIRAMA)
    ]


class ScriptSampler(TextSampler):
    """A ``TextSampler`` over the languages of one script: words, phrases, sentences, dates and most prices come
    from ``ScriptText``; ``chars`` and ``pseudo`` draw random well-formed clusters; URLs, e-mails and commands
    are Latin (English words); numbers, codes, phones and the rest are the sampler's own (ASCII, as Hindi and
    Korean print them). Filtering to a font's
    characters drops whole words, and cuts fall between clusters, so no matra or virama is left dangling."""

    def __init__(
        self,
        langs: Sequence[str],
        charset: str | None = None,
        mixture: Mapping[str, float] | None = None,
        case_mix: Mapping[str, float] | None = None,
        max_chars: int = 24,
        words: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.text = ScriptText(langs, words)
        self.script = self.text.script
        # Script text has more code points per letter a reader sees (a conjunct is three): room for it.
        super().__init__(charset or self.script.charset, mixture, case_mix, int(max_chars * 1.5), words=())
        # Web addresses, e-mails and command lines are written in Latin letters whatever the page's script.
        self.latin = TextSampler(LATIN, max_chars=self.max_chars)

    def _word(self, rng: np.random.Generator) -> str:
        return self.text.word(rng)

    def _phrase(self, rng: np.random.Generator) -> str:
        return self.text.phrase(rng)

    def _sentence(self, rng: np.random.Generator) -> str:
        return self.text.sentence(rng)

    def _pseudo(self, rng: np.random.Generator) -> str:
        return "".join(random_syllable(rng, self.script) for _ in range(int(rng.integers(1, 6))))

    def _chars(self, rng: np.random.Generator) -> str:
        n = int(rng.integers(1, 9))
        return " ".join(self._pseudo(rng) for _ in range(max(1, n // 3)))

    def _url(self, rng: np.random.Generator) -> str:
        return self.latin._url(rng)

    def _email(self, rng: np.random.Generator) -> str:
        return self.latin._email(rng)

    def _command(self, rng: np.random.Generator) -> str:
        return self.latin._command(rng)

    def _date(self, rng: np.random.Generator) -> str:
        """The language's own date formats, with a fifth in the English ones (forms, receipts, software)."""
        return self.text.date(rng, self.text.lang(rng)) if rng.random() < 0.8 else self.latin._date(rng)

    def _price(self, rng: np.random.Generator) -> str:
        return self.text.amount(rng, self.text.lang(rng)) if rng.random() < 0.7 else self.latin._price(rng)

    def _receipt(self, rng: np.random.Generator) -> str:
        lang = self.text.lang(rng)
        return f"{self.text.phrase(rng, 1, 3, lang)} {self.text.amount(rng, lang)}"

    def _punct_word(self, rng: np.random.Generator) -> str:
        left, right = _SCRIPT_WRAPS[int(rng.integers(len(_SCRIPT_WRAPS)))]
        return f"{left}{self._word(rng)}{right}"

    SOURCES: Mapping[str, Callable[[TextSampler, np.random.Generator], str]] = {
        **TextSampler.SOURCES,
        "word": _word,
        "common": _word,
        "phrase": _phrase,
        "sentence": _sentence,
        "pseudo": _pseudo,
        "chars": _chars,
        "receipt": _receipt,
        "punct_word": _punct_word,
        "url": _url,
        "email": _email,
        "command": _command,
        "date": _date,
        "price": _price,
    }  # type: ignore[dict-item]

    def sample(self, rng: np.random.Generator, allowed: frozenset[str] | None = None, source: str | None = None) -> str:
        """One string of whole words, every character in the charset (and in ``allowed`` when given)."""
        allowed_set = self.allowed if allowed is None else (self.allowed & allowed) | {" "}
        for _ in range(6):
            text = self.SOURCES[source or _weighted_source(rng, self.mixture)](self, rng)
            text = " ".join(w for w in normalize_label(text).split() if set(w) <= allowed_set)
            if len(text) > self.max_chars:
                text = self._trim(text, rng)
            if text:
                return text
        clusters = [random_syllable(rng, self.script) for _ in range(8)]
        kept = "".join(c for c in clusters if set(c) <= allowed_set)
        return kept[: self.max_chars] or "0"

    def _trim(self, text: str, rng: np.random.Generator) -> str:
        """Cut at a word boundary where one exists, else at a cluster boundary of a random window."""
        cut = text[: self.max_chars + 1]
        if " " in cut:
            cut = cut[: cut.rfind(" ")]
            if len(cut) >= self.max_chars // 3:
                return cut.strip()
        starts = _cluster_starts(text)
        first = [i for i in starts if i <= len(text) - self.max_chars] or [0]
        start = first[int(rng.integers(len(first)))]
        end = max(i for i in starts if i <= start + self.max_chars) if start + self.max_chars < len(text) else len(text)
        return text[start:end].strip() if end > start else text[start : start + 1]


def _weighted_source(rng: np.random.Generator, weights: Mapping[str, float]) -> str:
    keys = list(weights)
    cum = np.cumsum([weights[k] for k in keys])
    return keys[min(int(np.searchsorted(cum, rng.random() * cum[-1], side="right")), len(keys) - 1)]


# --- grapheme clusters -----------------------------------------------------------------------------------------
def grapheme_clusters(text: str) -> list[str]:
    """The extended grapheme clusters of ``text`` (NFC), by the ``regex`` module's ``\\X`` (Unicode's UAX #29 as
    that module implements it); a ConfigError when ``regex`` is not installed (``pip install regex``)."""
    try:
        import regex
    except ImportError as exc:
        raise ConfigError("grapheme clusters need the regex module: pip install regex") from exc
    return list(regex.findall(r"\X", unicodedata.normalize("NFC", text)))


def cluster_edit_rate(pairs: Iterable[tuple[str, str]]) -> tuple[float, float]:
    """(CER over NFC code points, CER over grapheme clusters) of (truth, prediction) pairs: total edits over
    total truth length, each counted in its unit."""
    from rapidfuzz.distance import Levenshtein

    edit_distance = Levenshtein.distance
    cp_edits = cp_total = gc_edits = gc_total = 0
    for truth, pred in pairs:
        t, p = unicodedata.normalize("NFC", truth), unicodedata.normalize("NFC", pred)
        cp_edits += edit_distance(t, p)
        cp_total += len(t)
        tc, pc = grapheme_clusters(t), grapheme_clusters(p)
        gc_edits += edit_distance(tc, pc)
        gc_total += len(tc)
    return cp_edits / max(cp_total, 1), gc_edits / max(gc_total, 1)
