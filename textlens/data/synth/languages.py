"""Text of real languages for synthetic lines: Debian's word lists, and phrases mixing their words with numbers,
dates, amounts, codes, URLs and e-mail addresses written the way each language writes them.

``language_words(lang)`` reads a language's word list from the system (``WORD_LISTS``: a ``/usr/share/dict``
list where Debian ships one, else a hunspell ``.dic`` with its affix flags stripped), NFC with ligatures spelt
out, filtered to a charset, cached. ``LanguageText(langs)`` draws words and phrases of those languages;
``LanguageSampler(langs, ...)`` is a ``TextSampler`` whose word-like sources (and URLs, e-mails) draw from them,
which ``LineRenderer(langs=...)`` uses for every preset.

A language whose list is missing raises a ConfigError naming the Debian package to install; there is no silent
fallback to English, which would label English text as another language's. The translated message catalogs
(``.mo`` files) installed packages ship are never read: they are held-out text for evaluation.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from textlens.data.charset import LATIN_EXT, normalize_label
from textlens.data.synth.text import _OFFENSIVE, TextSampler
from textlens.errors import ConfigError

_DICT = Path("/usr/share/dict")
_HUNSPELL = Path("/usr/share/hunspell")


@dataclass(frozen=True)
class WordList:
    """Where a language's words lie: a plain list (one word a line) or a hunspell ``.dic`` (``hunspell=True``),
    and the Debian package that installs it (None: Debian has none)."""

    path: Path
    package: str | None
    hunspell: bool = False


# Plain lists (the w* packages) where Debian has one, else hunspell dictionaries; candidates in order.
WORD_LISTS: dict[str, tuple[WordList, ...]] = {
    "en": (WordList(_DICT / "american-english", "wamerican"), WordList(_DICT / "british-english", "wbritish")),
    "fr": (WordList(_DICT / "french", "wfrench"),),
    "de": (WordList(_DICT / "ngerman", "wngerman"),),
    "es": (WordList(_DICT / "spanish", "wspanish"),),
    "it": (WordList(_DICT / "italian", "witalian"),),
    "pt": (WordList(_DICT / "portuguese", "wportuguese"),),
    "nl": (WordList(_DICT / "dutch", "wdutch"),),
    "pl": (WordList(_DICT / "polish", "wpolish"),),
    "sv": (WordList(_DICT / "swedish", "wswedish"),),
    "da": (WordList(_DICT / "danish", "wdanish"),),
    "nb": (WordList(_DICT / "bokmaal", "wnorwegian"),),
    "cs": (WordList(_HUNSPELL / "cs_CZ.dic", "hunspell-cs", hunspell=True),),
    "sk": (WordList(_HUNSPELL / "sk_SK.dic", "hunspell-sk", hunspell=True),),
    "hu": (WordList(_HUNSPELL / "hu_HU.dic", "hunspell-hu", hunspell=True),),
    "ro": (WordList(_HUNSPELL / "ro_RO.dic", "hunspell-ro", hunspell=True),),
    "tr": (WordList(_HUNSPELL / "tr_TR.dic", "hunspell-tr", hunspell=True),),
    # Debian packages no Finnish word list (voikko-fi is a morphology, not a list): put one here to use fi.
    "fi": (WordList(_DICT / "finnish", None),),
}
LANGUAGES = tuple(WORD_LISTS)

# Polish's list has 4.3 million inflected forms: an even subsample keeps a worker's memory small and loses
# nothing a recogniser needs (every letter and ending still occurs thousands of times).
MAX_WORDS = 200_000

# Per token of a phrase; the rest are words. Rates of running text in documents, a little raised so that a
# line of a few words carries a number often enough to learn the digits in context.
NUMBER_RATE = 0.08  # counts, quantities, page and article numbers: the most frequent non-word token
DATE_RATE = 0.03  # letters, invoices and forms date almost every page
AMOUNT_RATE = 0.03  # prices and totals with the language's decimal separator and currency
CODE_RATE = 0.02  # reference numbers, postcodes, part numbers
URL_RATE = 0.01  # web addresses: rare in body text, common in footers
EMAIL_RATE = 0.01  # as URLs
# Punctuation around words, per word: what word lists lack and print is full of.
COMMA_RATE = 0.08  # a clause break every dozen words
QUOTE_RATE = 0.03  # the language's own quotation marks („…“, «…», “…”)
DASH_RATE = 0.02  # an en or em dash between words
SENTENCE_END = {".": 0.6, "": 0.2, "?": 0.05, "!": 0.05, "…": 0.05, ":": 0.05}


@dataclass(frozen=True)
class Format:
    """How a language writes numbers, dates and money."""

    decimal: str  # decimal separator
    thousands: str  # digit-group separator
    dates: tuple[str, ...]  # str.format patterns over {d}, {m}, {y} and the zero-padded {dd}, {mm}
    currencies: tuple[tuple[str, str], ...]  # (prefix, suffix) around the amount
    quotes: tuple[tuple[str, str], ...]
    tld: str


_EURO_AFTER = (("", " €"), ("", " EUR"))
_DOT_DATES = ("{dd}.{mm}.{y}", "{d}.{m}.{y}", "{d}. {m}. {y}")
_SLASH_DATES = ("{dd}/{mm}/{y}", "{d}/{m}/{y}")
_LOW_QUOTES = (("„", "“"), ("‚", "‘"))
_GUILLEMETS = (("« ", " »"), ("«", "»"))  # French spaces them (a no-break space, not in the charsets)

FORMATS: Mapping[str, Format] = {
    "en": Format(
        ".",
        ",",
        ("{m}/{d}/{y}", "{dd}/{mm}/{y}", "{y}-{mm}-{dd}"),
        (("$", ""), ("£", "")),
        (("“", "”"), ("‘", "’")),
        "com",
    ),
    "fr": Format(",", " ", _SLASH_DATES, _EURO_AFTER, (*_GUILLEMETS, ("“", "”")), "fr"),
    "de": Format(",", ".", _DOT_DATES[:2], _EURO_AFTER, (*_LOW_QUOTES, ("»", "«")), "de"),
    "es": Format(",", ".", _SLASH_DATES, _EURO_AFTER, (("«", "»"), ("“", "”")), "es"),
    "it": Format(",", ".", _SLASH_DATES, (*_EURO_AFTER, ("€ ", "")), (("«", "»"), ("“", "”")), "it"),
    "pt": Format(",", ".", _SLASH_DATES, _EURO_AFTER, (("«", "»"), ("“", "”")), "pt"),
    "nl": Format(",", ".", ("{dd}-{mm}-{y}", "{d}-{m}-{y}"), (("€ ", ""), ("€", "")), (("‘", "’"), ("“", "”")), "nl"),
    "pl": Format(",", " ", _DOT_DATES[:2], (("", " zł"), ("", " PLN")), (("„", "”"), ("«", "»")), "pl"),
    "cs": Format(",", " ", _DOT_DATES, (("", " Kč"), ("", " CZK")), _LOW_QUOTES, "cz"),
    "sk": Format(",", " ", _DOT_DATES, _EURO_AFTER, _LOW_QUOTES, "sk"),
    "hu": Format(
        ",", " ", ("{y}. {mm}. {dd}.", "{y}.{mm}.{dd}."), (("", " Ft"), ("", " HUF")), (("„", "”"), ("»", "«")), "hu"
    ),
    "ro": Format(",", ".", _DOT_DATES[:2], (("", " lei"), ("", " RON")), (("„", "”"), ("«", "»")), "ro"),
    "tr": Format(",", ".", _DOT_DATES[:2], (("", " TL"), ("", " TRY")), (("“", "”"), ("‘", "’")), "com.tr"),
    "sv": Format(
        ",", " ", ("{y}-{mm}-{dd}", "{d}/{m} {y}"), (("", " kr"), ("", " SEK")), (("”", "”"), ("’", "’")), "se"
    ),
    "da": Format(
        ",",
        ".",
        ("{dd}.{mm}.{y}", "{d}/{m} {y}", "{dd}-{mm}-{y}"),
        (("", " kr."), ("", " DKK")),
        (("„", "“"), ("»", "«")),
        "dk",
    ),
    "nb": Format(
        ",", " ", ("{dd}.{mm}.{y}", "{d}. {m}. {y}"), (("", " kr"), ("kr ", "")), (("«", "»"), ("‘", "’")), "no"
    ),
    "fi": Format(",", " ", ("{d}.{m}.{y}", "{dd}.{mm}.{y}"), _EURO_AFTER, (("”", "”"), ("’", "’")), "fi"),
}


def _read_words(source: WordList) -> list[str]:
    data = source.path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:  # Debian's Swedish and Norwegian lists are ISO-8859-1
        text = data.decode("latin-1")
    wanted = 2 * MAX_WORDS
    if text.count("\n") > wanted:  # thin a huge list before splitting it (Polish: 8 s and 600 MB → 1 s, 60 MB)
        step, ends = len(text) / wanted, []
        for i in range(wanted):
            start = text.rfind("\n", 0, int(i * step)) + 1  # the line holding character i * step
            end = text.find("\n", start)
            ends.append(text[start : len(text) if end < 0 else end])
        lines = list(dict.fromkeys(ends))
    else:
        lines = text.splitlines()
    if source.hunspell:  # a count line, then word/FLAGS, possibly followed by morphology after a tab or space
        lines = [line.split("/", 1)[0].split(None, 1)[0] if line.strip() else "" for line in lines[1:]]
    return [line.strip() for line in lines]


@lru_cache(maxsize=32)
def language_words(lang: str, charset: str = LATIN_EXT) -> tuple[str, ...]:
    """The words of ``lang`` (a key of ``WORD_LISTS``) the charset can express, NFC, ligatures spelt out, at
    most ``MAX_WORDS`` of them (an even subsample); a ConfigError names the package when the list is missing."""
    candidates = WORD_LISTS.get(lang)
    if candidates is None:
        raise ConfigError(f"unknown language {lang!r}; known: {', '.join(LANGUAGES)}")
    source = next((c for c in candidates if c.path.is_file()), None)
    if source is None:
        paths = ", ".join(str(c.path) for c in candidates)
        packages = [c.package for c in candidates if c.package]
        hint = (
            f"install the Debian package {' or '.join(packages)} (apt-get install {packages[0]})"
            if packages
            else "Debian ships no word list for it: put one (a word a line, UTF-8) there"
        )
        raise ConfigError(f"no word list for language {lang!r} at {paths}: {hint}")
    allowed = frozenset(charset)
    # A word has a letter (hunspell lists carry a few bare brackets and signs); English slurs go as in text.py.
    words = list(
        dict.fromkeys(
            w
            for w in map(normalize_label, _read_words(source))
            if set(w) <= allowed and any(map(str.isalpha, w)) and not _OFFENSIVE.search(w)
        )
    )
    if len(words) > MAX_WORDS:
        step = len(words) / MAX_WORDS
        words = [words[int(i * step)] for i in range(MAX_WORDS)]
    if not words:
        raise ConfigError(f"the word list {source.path} has no word the charset can express")
    return tuple(words)


def _pick(rng: np.random.Generator, items: Sequence[str]) -> str:
    return items[int(rng.integers(len(items)))]


def _ascii(word: str) -> str:
    """A word's ASCII letters and digits, accents dropped (for host names and e-mail users)."""
    return "".join(c for c in unicodedata.normalize("NFD", word) if c.isascii() and c.isalnum()).lower()


# Token kinds of a phrase with their rates; "word" takes the rest.
TOKEN_RATES: Mapping[str, float] = {
    "number": NUMBER_RATE,
    "date": DATE_RATE,
    "amount": AMOUNT_RATE,
    "code": CODE_RATE,
    "url": URL_RATE,
    "email": EMAIL_RATE,
}


class LanguageText:
    """Words and phrases of the languages ``langs`` (each phrase in one language, drawn uniformly)."""

    def __init__(self, langs: Sequence[str], charset: str = LATIN_EXT) -> None:
        if not langs:
            raise ConfigError("no language given")
        self.langs = tuple(dict.fromkeys(langs))
        unknown = [lang for lang in self.langs if lang not in FORMATS]
        if unknown:
            raise ConfigError(f"unknown language(s) {unknown}; known: {', '.join(LANGUAGES)}")
        self.words = {lang: language_words(lang, charset) for lang in self.langs}
        self._kinds = list(TOKEN_RATES)
        self._cum = np.cumsum([TOKEN_RATES[k] for k in self._kinds])

    def lang(self, rng: np.random.Generator) -> str:
        return _pick(rng, self.langs)

    def word(self, rng: np.random.Generator, lang: str | None = None) -> str:
        return _pick(rng, self.words[lang or self.lang(rng)])

    # --- tokens written the language's way -----------------------------------------------------------------
    def _group(self, value: int, sep: str) -> str:
        return f"{value:,}".replace(",", sep)

    def number(self, rng: np.random.Generator, lang: str) -> str:
        fmt = FORMATS[lang]
        r = rng.random()
        if r < 0.5:
            return str(int(rng.integers(0, 10 ** int(rng.integers(1, 4)))))
        if r < 0.7:
            return self._group(int(rng.integers(1000, 10_000_000)), fmt.thousands)
        if r < 0.9:
            whole, frac = int(rng.integers(0, 1000)), int(rng.integers(0, 100))
            return f"{whole}{fmt.decimal}{frac:02d}" if rng.random() < 0.5 else f"{whole}{fmt.decimal}{frac % 10}"
        return (
            f"{int(rng.integers(1, 100))} %" if lang != "en" and rng.random() < 0.7 else f"{int(rng.integers(1, 100))}%"
        )

    def date(self, rng: np.random.Generator, lang: str) -> str:
        y, m, d = int(rng.integers(1950, 2036)), int(rng.integers(1, 13)), int(rng.integers(1, 29))
        return _pick(rng, FORMATS[lang].dates).format(d=d, m=m, y=y, dd=f"{d:02d}", mm=f"{m:02d}")

    def amount(self, rng: np.random.Generator, lang: str) -> str:
        fmt = FORMATS[lang]
        value = int(rng.integers(0, 10 ** int(rng.integers(1, 6))))
        whole = self._group(value, fmt.thousands) if value >= 1000 and rng.random() < 0.6 else str(value)
        prefix, suffix = fmt.currencies[int(rng.integers(len(fmt.currencies)))]
        return f"{prefix}{whole}{fmt.decimal}{int(rng.integers(0, 100)):02d}{suffix}"

    def code(self, rng: np.random.Generator, lang: str) -> str:
        up, dg = "ABCDEFGHJKLMNPRSTUVWXYZ", "0123456789"
        draw = lambda pool, n: "".join(pool[int(i)] for i in rng.integers(0, len(pool), size=n))  # noqa: E731
        r = int(rng.integers(4))
        if r == 0:
            return f"{draw(up, int(rng.integers(2, 4)))}-{draw(dg, int(rng.integers(3, 7)))}"
        if r == 1:
            return f"{draw(dg, 2)} {draw(dg, 3)}" if lang in ("cs", "sk", "sv") else draw(dg, 5)
        if r == 2:
            return f"{_pick(rng, ('Nr.', 'No.', '№', 'Ref.', '#'))} {draw(dg, int(rng.integers(3, 8)))}"
        return draw(up + dg, int(rng.integers(6, 11)))

    def _host(self, rng: np.random.Generator, lang: str) -> str:
        name = _ascii(self.word(rng, lang))[:12] or "info"
        return f"{name}.{FORMATS[lang].tld}"

    def url(self, rng: np.random.Generator, lang: str) -> str:
        path = "" if rng.random() < 0.6 else "/" + (_ascii(self.word(rng, lang))[:10] or "index")
        return f"{_pick(rng, ('www.', 'https://www.', 'https://', ''))}{self._host(rng, lang)}{path}"

    def email(self, rng: np.random.Generator, lang: str) -> str:
        user = _ascii(self.word(rng, lang))[:10] or "info"
        if rng.random() < 0.4:
            user += _pick(rng, (".", "_", "")) + (_ascii(self.word(rng, lang))[:8] or "mail")
        return f"{user}@{self._host(rng, lang)}"

    # --- phrases --------------------------------------------------------------------------------------------
    def token_kind(self, rng: np.random.Generator) -> str:
        """``word`` or one of ``TOKEN_RATES`` at its rate."""
        r = rng.random()
        i = int(np.searchsorted(self._cum, r, side="right"))
        return self._kinds[i] if i < len(self._kinds) else "word"

    def tokens(self, rng: np.random.Generator, n: int, lang: str) -> list[tuple[str, str]]:
        """``n`` (kind, text) tokens of one language; words may carry commas, quotes or a dash."""
        out: list[tuple[str, str]] = []
        fmt = FORMATS[lang]
        for _ in range(n):
            kind = self.token_kind(rng)
            if kind != "word":
                out.append((kind, getattr(self, kind)(rng, lang)))
                continue
            text = self.word(rng, lang)
            if rng.random() < QUOTE_RATE:
                left, right = fmt.quotes[int(rng.integers(len(fmt.quotes)))]
                text = f"{left}{text}{right}"
            if rng.random() < COMMA_RATE:
                text += ","
            elif rng.random() < DASH_RATE:
                text += _pick(rng, (" –", " —", "—"))
            out.append(("word", text))
        return out

    def phrase(self, rng: np.random.Generator, lo: int = 2, hi: int = 6, lang: str | None = None) -> str:
        """``lo..hi`` tokens of one language, space-separated."""
        lang = lang or self.lang(rng)
        n = int(rng.integers(lo, hi + 1))
        return " ".join(text for _, text in self.tokens(rng, n, lang))

    def sentence(self, rng: np.random.Generator, lang: str | None = None) -> str:
        """A phrase of 3..8 tokens, capitalised, ending in the punctuation of ``SENTENCE_END``."""
        text = self.phrase(rng, 3, 8, lang).rstrip(",–— ")
        ends = list(SENTENCE_END)
        end = ends[int(np.searchsorted(np.cumsum(list(SENTENCE_END.values())), rng.random(), side="right"))]
        return text[:1].upper() + text[1:] + end


class LanguageSampler(TextSampler):
    """A ``TextSampler`` over real languages: ``word``, ``common``, ``phrase``, ``sentence``, ``punct_word``,
    ``url``, ``email`` and the words of receipt lines come from ``LanguageText(langs)``; the other sources
    (numbers, prices, codes, …) are the sampler's own."""

    def __init__(
        self,
        langs: Sequence[str],
        charset: str = LATIN_EXT,
        mixture: Mapping[str, float] | None = None,
        case_mix: Mapping[str, float] | None = None,
        max_chars: int = 24,
    ) -> None:
        super().__init__(charset, mixture, case_mix, max_chars, words=())
        self.languages = LanguageText(langs, self.charset)

    def _word(self, rng: np.random.Generator) -> str:
        return self.languages.word(rng)

    def _common(self, rng: np.random.Generator) -> str:  # no frequency lists: any word of the language
        return self.languages.word(rng)

    def _phrase(self, rng: np.random.Generator) -> str:
        return self.languages.phrase(rng)

    def _sentence(self, rng: np.random.Generator) -> str:
        return self.languages.sentence(rng)

    def _url(self, rng: np.random.Generator) -> str:
        return self.languages.url(rng, self.languages.lang(rng))

    def _email(self, rng: np.random.Generator) -> str:
        return self.languages.email(rng, self.languages.lang(rng))

    SOURCES: Mapping[str, Callable[[TextSampler, np.random.Generator], str]] = {
        **TextSampler.SOURCES,
        "word": _word,
        "common": _common,
        "phrase": _phrase,
        "sentence": _sentence,
        "url": _url,
        "email": _email,
    }  # type: ignore[dict-item]
