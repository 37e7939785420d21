"""Text sources for synthetic crops and pages: words, numbers, prices, dates, codes, receipt lines and more.

Every draw comes from a numpy ``Generator`` so a seed fixes the text. The default charset is
``textlens.data.charset.LATIN``; text the charset (or the chosen font) cannot express is filtered, and a
source that cannot work for a charset (English words for Devanagari) falls back to random strings of the
charset.
"""

from __future__ import annotations

import re
import string
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from itertools import accumulate
from pathlib import Path

import numpy as np

from textlens.data.charset import LATIN

DICT_PATHS = (Path("/usr/share/dict/american-english"), Path("/usr/share/dict/words"))  # words: any installed list
# Slurs and obscenities are dropped from the dictionary: rendered samples end up in contact sheets and docs.
_OFFENSIVE = re.compile(r"fuck|shit|cunt|nigg|faggot|whore|slut|bitch|pussy|cocksuck|motherf|bastard|wank|twat", re.I)

# The most frequent English words: scene text and forms are full of them, and a uniform draw from a 100k-word
# dictionary almost never yields them.
_COMMON_TEXT = (
    "the of and to a in for is on that by this with you it not or be are from at as your all have new "
    "more an was we will home can us about if page my has search free but our one other do no "
    "information time they site he up may what which their news out use any there see only so his when "
    "contact here business who web also now help get view online first am been would how were me "
    "services some these click its like service than find price date back top people had list name just "
    "over state year day into email two health world next used go work last most products music buy data "
    "make them should product system post her city add policy number such please available copyright "
    "support message after best software then jan good video well where info rights public books high "
    "school through each links she review years order very privacy book items company read group need "
    "many user said does set under general research university january mail full map reviews program "
    "life know games way days management part could great united hotel real item international center "
    "ebay must store travel comments made development report off member details line terms before hotels "
    "did send right type because local those using results office education national car design take "
    "posted internet address community within states area want phone shipping reserved subject between "
    "forum family long based code show even black check special prices website index being women much "
    "sign file link open today technology south case project same pages uk version section own found "
    "sports house related security both county american photo game members power while care network down "
    "computer systems three total place end following download him without per access think north "
    "resources current posts big media law control water history pictures size art personal since "
    "including guide shop directory board location change white text small rating rate government "
    "children during usa return students shopping account times sites level digital profile previous "
    "form events love old john main call hours image department title description non insurance another "
    "why shall property class still money quality every listing content country private little visit "
    "save tools low reply customer december compare movies include college value article york man card "
    "jobs provide food source author different press learn sale around print course job canada process "
    "teen room stock training too credit point join science men categories advanced west sales look "
    "english left team estate box conditions select windows photos gay thread week category note live "
    "large gallery table register however june october november market library really action start "
    "series model features air industry plan human provided yes required second hot accessories cost "
    "movie forums march la september better say questions july yahoo going medical test friend come dec "
    "server study application cart staff articles san feedback again play looking issues april never "
    "users complete street topic comment financial things working against standard tax person below "
    "mobile less got blog party payment equipment login student let programs offers legal above recent "
    "park stores side act problem red give memory performance social august quote language story sell "
    "options experience rates create key body young america important field few east paper single age "
    "activities club example girls additional password latest something road gift question changes night "
    "hard texas oct pay four poker status browse issue range building seller court february always "
    "result audio light write war nov offer blue groups easy given files event release analysis request "
    "fax china making picture needs possible might professional yet month major star areas future space "
    "committee hand sun cards problems london washington meeting become interest id child keep enter "
    "california share similar garden schools million added reference companies listed baby learning "
    "energy run delivery net popular term film stories put computers journal reports co try welcome "
    "central images president notice god original head radio until cell color self council away includes "
    "track australia discussion archive once others entertainment agreement format least society months "
    "log safety friends sure faq trade edition cars messages marketing tell further updated association "
    "able having provides david fun already green studies close common drive specific several gold feb "
    "living sorry exit stop tel no road lane avenue st rd ave"
)
COMMON_WORDS = tuple(_COMMON_TEXT.split())

_CONSONANTS = "bcdfghjklmnprstvwxyz"
_VOWELS = "aeiou"
_TLDS = ("com", "org", "net", "co.uk", "de", "io", "edu", "gov", "my", "fr", "info")
_FILE_SUFFIXES = (".txt", ".conf", ".py", ".c", ".h", ".gz", ".bz2", ".tar.gz", ".deb", ".so", ".out", ".1", ".html")
_CURRENCY_PREFIX = ("$", "£", "€", "¥", "RM", "RM ", "USD ", "S$", "$ ")
_CURRENCY_SUFFIX = (" €", "€", " EUR", " USD", " RM")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# "mixed": every word its own case, as on invoices ("Total due: EUR 40.30"); without it a line's case was one
# style throughout, and a recogniser learnt to read a whole line in capitals from one capital word in it.
_RECEIPT_CASE = {"upper": 0.5, "title": 0.25, "lower": 0.1, "mixed": 0.15}
# Written in capitals whatever the line's style: a title-case line still says "EUR", "RM", "GST", "SDN BHD".
_ACRONYMS = frozenset({"EUR", "USD", "RM", "GST", "SST", "VAT", "ID", "SDN", "BHD", "PCS", "KG", "EA", "SR", "ZR"})
_LETTER_WORD = re.compile(r"[A-Za-z]{2,}")  # words of letters; single letters ("x", "@ 3") stay as drawn
_RECEIPT_WORDS = (
    "TOTAL",
    "SUBTOTAL",
    "SUB TOTAL",
    "CASH",
    "CHANGE",
    "GST",
    "TAX",
    "QTY",
    "AMOUNT",
    "RM",
    "ROUNDING",
    "DISCOUNT",
    "INVOICE",
    "RECEIPT",
    "NO",
    "DATE",
    "TIME",
    "CASHIER",
    "TABLE",
    "ITEM",
    "PRICE",
    "TOTAL SALES",
    "NETT TOTAL",
    "GRAND TOTAL",
    "THANK YOU",
    "PLEASE COME AGAIN",
    "TEL",
    "FAX",
    "GST ID",
    "SDN BHD",
    "BILL",
    "MEMBER",
    "CARD",
    "VISA",
    "MASTER",
    "TENDERED",
    "BALANCE",
    "SERVICE CHARGE",
    "EXCL",
    "INCL",
    "UNIT",
    "PCS",
    "KG",
    "EA",
    "SR",
    "ZR",
)
_PUNCT_WRAPS = (
    ("", ":"),
    ("", "."),
    ("", ","),
    ("(", ")"),
    ("", ";"),
    ('"', '"'),
    ("'", "'"),
    ("", "!"),
    ("", "?"),
    ("[", "]"),
    ("", "-"),
    ("#", ""),
    ("*", ""),
    ("", "%"),
    ("", "/"),
    ("-", ""),
)

CASES = ("keep", "lower", "title", "upper", "mixed")


@lru_cache(maxsize=2)
def dictionary_words(path: str | None = None) -> tuple[str, ...]:
    """Words of the system dictionary (``wamerican``), possessives dropped; empty when none is installed."""
    candidates = [Path(path)] if path else list(DICT_PATHS)
    for candidate in candidates:
        if candidate.is_file():
            words = candidate.read_text(encoding="utf-8", errors="ignore").split()
            return tuple(w for w in words if "'" not in w and not _OFFENSIVE.search(w))
    return ()


def _pick(rng: np.random.Generator, items: Sequence[str]) -> str:
    return items[int(rng.integers(len(items)))]


def _weighted(rng: np.random.Generator, weights: Mapping[str, float]) -> str:
    keys = list(weights)
    cum = list(accumulate(weights[k] for k in keys))
    return keys[min(bisect_right(cum, rng.random() * cum[-1]), len(keys) - 1)]


def apply_case(text: str, case: str, rng: np.random.Generator | None = None) -> str:
    """``text`` in one of ``CASES``; ``mixed`` draws lower, title or upper for each word (needs ``rng``)."""
    if case == "mixed":
        if rng is None:
            raise ValueError("the mixed case draws a case per word: pass rng")
        return " ".join(apply_case(w, _pick(rng, ("lower", "title", "upper"))) for w in text.split(" "))
    if case == "lower":
        return text.lower()
    if case == "upper":
        return text.upper()
    if case == "title":
        return " ".join(w[:1].upper() + w[1:].lower() for w in text.split(" "))
    return text


class TextSampler:
    """Draws strings from a weighted mixture of named sources, filtered to a charset.

    ``mixture`` maps source names (see ``TextSampler.SOURCES``) to weights; ``case_mix`` maps ``keep``,
    ``lower``, ``title``, ``upper`` to weights and applies to word-like sources only.
    """

    WORDLIKE = frozenset({"word", "common", "phrase", "sentence", "punct_word", "pseudo"})

    def __init__(
        self,
        charset: str = LATIN,
        mixture: Mapping[str, float] | None = None,
        case_mix: Mapping[str, float] | None = None,
        max_chars: int = 24,
        words: Sequence[str] | None = None,
    ) -> None:
        self.charset = "".join(dict.fromkeys(charset))
        self.allowed = frozenset(self.charset) | {" "}
        self.mixture = dict(mixture or {"word": 0.5, "common": 0.2, "number": 0.1, "alnum": 0.1, "punct_word": 0.1})
        unknown = set(self.mixture) - set(self.SOURCES)
        if unknown:
            raise ValueError(f"unknown text sources {sorted(unknown)}; known: {sorted(self.SOURCES)}")
        self.case_mix = dict(case_mix or {"keep": 0.6, "lower": 0.1, "title": 0.1, "upper": 0.2})
        self.max_chars = max_chars
        pool = dictionary_words() if words is None else tuple(words)
        self.words = tuple(w for w in pool if set(w) <= self.allowed)
        self.common = tuple(w for w in COMMON_WORDS if set(w) <= self.allowed)
        self.letters = "".join(c for c in self.charset if c.isalpha()) or self.charset
        self.digits = "".join(c for c in self.charset if c.isdigit()) or self.charset
        self.symbols = "".join(c for c in self.charset if not c.isalnum() and not c.isspace())

    # --- sources -------------------------------------------------------------------------------------------
    def _word(self, rng: np.random.Generator) -> str:
        if len(self.words) < 1000:  # no usable dictionary for this charset
            return self._pseudo(rng)
        return _pick(rng, self.words)

    def _common(self, rng: np.random.Generator) -> str:
        return _pick(rng, self.common) if self.common else self._word(rng)

    def _pseudo(self, rng: np.random.Generator) -> str:
        """A pronounceable non-word (consonant-vowel runs) so the model cannot lean on a lexicon."""
        if not set(_CONSONANTS + _VOWELS) <= self.allowed:
            return self._random_chars(rng, self.letters, 2, 10)
        n = int(rng.integers(2, 11))
        return "".join(_pick(rng, _VOWELS if (i % 2) == int(rng.random() < 0.2) else _CONSONANTS) for i in range(n))

    def _random_chars(self, rng: np.random.Generator, pool: str, lo: int, hi: int) -> str:
        n = int(rng.integers(lo, hi + 1))
        return "".join(pool[int(i)] for i in rng.integers(0, len(pool), size=n))

    def _alnum(self, rng: np.random.Generator) -> str:
        pool = string.ascii_uppercase + string.digits if rng.random() < 0.6 else string.ascii_letters + string.digits
        return self._random_chars(rng, pool, 1, 10)

    def _chars(self, rng: np.random.Generator) -> str:
        """Uniform over the whole charset: the only source that shows rare symbols often enough."""
        return self._random_chars(rng, self.charset, 1, 12)

    def _number(self, rng: np.random.Generator) -> str:
        kind = rng.random()
        if kind < 0.4:
            return str(int(rng.integers(0, 10 ** int(rng.integers(1, 5)))))
        if kind < 0.6:
            return f"{int(rng.integers(1000, 10_000_000)):,}".replace(",", _pick(rng, (",", ".", " ", ",")))
        if kind < 0.85:
            return f"{rng.uniform(0, 10 ** int(rng.integers(1, 5))):.{int(rng.integers(1, 4))}f}"
        return f"{int(rng.integers(1, 100))}%" if rng.random() < 0.5 else f"{int(rng.integers(-99, 0))}"

    def _price(self, rng: np.random.Generator) -> str:
        value = rng.choice([rng.uniform(0, 20), rng.uniform(0, 200), rng.uniform(0, 5000)])
        sep = "," if rng.random() < 0.15 else "."
        amount = f"{value:,.2f}" if value >= 1000 and rng.random() < 0.5 else f"{value:.2f}"
        if sep == ",":
            amount = amount.replace(",", " ").replace(".", ",")
        r = rng.random()
        if r < 0.45:
            return amount
        if r < 0.85:
            return _pick(rng, _CURRENCY_PREFIX) + amount
        return amount + _pick(rng, _CURRENCY_SUFFIX)

    def _date(self, rng: np.random.Generator) -> str:
        y, m, d = int(rng.integers(1950, 2031)), int(rng.integers(1, 13)), int(rng.integers(1, 29))
        fmt = int(rng.integers(8))
        yy = f"{y % 100:02d}"
        return (
            f"{d:02d}/{m:02d}/{y}",
            f"{m}/{d}/{yy}",
            f"{y}-{m:02d}-{d:02d}",
            f"{d:02d}.{m:02d}.{y}",
            f"{d} {_MONTHS[m - 1]} {y}",
            f"{_MONTHS[m - 1]} {d}, {y}",
            f"{d:02d}-{_MONTHS[m - 1].upper()}-{yy}",
            f"{d:02d}/{m:02d}/{yy}",
        )[fmt]

    def _time(self, rng: np.random.Generator) -> str:
        h, mi, s = int(rng.integers(0, 24)), int(rng.integers(0, 60)), int(rng.integers(0, 60))
        fmt = int(rng.integers(4))
        return (
            f"{h:02d}:{mi:02d}",
            f"{h:02d}:{mi:02d}:{s:02d}",
            f"{(h % 12) or 12}:{mi:02d} {'AM' if h < 12 else 'PM'}",
            f"{h:02d}{mi:02d}H",
        )[fmt]

    def _phone(self, rng: np.random.Generator) -> str:
        d = lambda n: "".join(str(int(x)) for x in rng.integers(0, 10, size=n))  # noqa: E731
        fmt = int(rng.integers(5))
        return (
            f"({d(3)}) {d(3)}-{d(4)}",
            f"{d(3)}-{d(3)}-{d(4)}",
            f"+{d(2)} {d(2)} {d(4)} {d(4)}",
            f"0{d(2)}-{d(7)}",
            f"{d(3)}.{d(3)}.{d(4)}",
        )[fmt]

    def _email(self, rng: np.random.Generator) -> str:
        user = self._common(rng).lower() + _pick(rng, ("", ".", "_", "")) + self._word(rng).lower()[:8]
        return f"{user}@{self._word(rng).lower()[:10]}.{_pick(rng, _TLDS)}"

    def _url(self, rng: np.random.Generator) -> str:
        host = self._word(rng).lower()[:12] + ("" if rng.random() < 0.6 else self._common(rng).lower())
        prefix = _pick(rng, ("www.", "http://www.", "https://", ""))
        path = "" if rng.random() < 0.6 else "/" + self._common(rng).lower()
        return f"{prefix}{host}.{_pick(rng, _TLDS)}{path}"

    def _code(self, rng: np.random.Generator) -> str:
        """Invoice numbers, registration numbers, postcodes, serials."""
        up, dg = string.ascii_uppercase, string.digits
        fmt = int(rng.integers(7))
        if fmt == 0:
            return (
                _pick(rng, ("INV", "NO", "REF", "ID", "CS", "OR", "TX"))
                + _pick(rng, ("-", "", "#", ":", " "))
                + self._random_chars(rng, dg, 4, 9)
            )
        if fmt == 1:
            return self._random_chars(rng, dg, 5, 8) + "-" + self._random_chars(rng, up + dg, 1, 2)
        if fmt == 2:
            return self._random_chars(rng, up, 2, 3) + " " + self._random_chars(rng, dg, 1, 4)
        if fmt == 3:
            return (
                self._random_chars(rng, up, 1, 2)
                + self._random_chars(rng, dg, 1, 2)
                + " "
                + self._random_chars(rng, dg, 1, 1)
                + self._random_chars(rng, up, 2, 2)
            )
        if fmt == 4:
            return "-".join(self._random_chars(rng, up + dg, 3, 4) for _ in range(int(rng.integers(2, 4))))
        if fmt == 5:
            return self._random_chars(rng, dg, 8, 14)
        return self._random_chars(rng, up, 1, 3) + self._random_chars(rng, dg, 2, 6)

    def _command(self, rng: np.random.Generator) -> str:
        """Technical tokens of manuals and code listings: options, paths, file names, variables, calls.

        Clean-print pages lost exactly these (`--log-fd=9.` read "log fd=9.", `.out` read "out", monospaced
        `bzip2` read "b z 1 2"), so they get their own source.
        """
        word = lambda: (self._common(rng) if rng.random() < 0.5 else self._word(rng)).lower()[:10]  # noqa: E731
        kind = int(rng.integers(9))
        if kind == 0:
            opt = "-".join(word() for _ in range(int(rng.integers(1, 3))))
            value = _pick(rng, ("", "", f"={int(rng.integers(0, 100))}", f"={word()}", f" {word().upper()}"))
            return f"--{opt}{value}"
        if kind == 1:
            return "-" + self._random_chars(rng, string.ascii_letters, 1, 1) + _pick(rng, ("", "", " " + word()))
        if kind == 2:
            return "/" + "/".join(word() for _ in range(int(rng.integers(1, 5)))) + _pick(rng, ("", "/", ".conf"))
        if kind == 3:
            return f"{word()}{_pick(rng, _FILE_SUFFIXES)}"
        if kind == 4:
            return f"{word()}({int(rng.integers(1, 9))})" if rng.random() < 0.5 else f"{word()}()"
        if kind == 5:
            return _pick(rng, ("$", "${", "%")) + word().upper() + _pick(rng, ("", "}", "%"))
        if kind == 6:
            return f"{word()}_{word()}" + _pick(rng, ("", f"_{word()}", "=1", "[0]"))
        if kind == 7:
            return f"{word()}{int(rng.integers(0, 10))}" + _pick(rng, ("", f".{int(rng.integers(0, 10))}", "-dev"))
        return " ".join(
            _pick(rng, (word(), f"-{self._random_chars(rng, string.ascii_lowercase, 1, 1)}", f"<{word()}>", "|"))
            for _ in range(int(rng.integers(2, 5)))
        )

    def _punct_word(self, rng: np.random.Generator) -> str:
        left, right = _PUNCT_WRAPS[int(rng.integers(len(_PUNCT_WRAPS)))]
        word = self._common(rng) if rng.random() < 0.5 else self._word(rng)
        return left + word + right

    def _phrase(self, rng: np.random.Generator) -> str:
        n = int(rng.integers(2, 6))
        return " ".join(self._common(rng) if rng.random() < 0.5 else self._word(rng) for _ in range(n))

    def _sentence(self, rng: np.random.Generator) -> str:
        words = [self._common(rng) if rng.random() < 0.6 else self._word(rng) for _ in range(int(rng.integers(3, 9)))]
        for i in range(len(words) - 1):
            if rng.random() < 0.12:
                words[i] += _pick(rng, (",", ",", ";", ":"))
        words[0] = words[0][:1].upper() + words[0][1:]
        return " ".join(words) + _pick(rng, (".", ".", ".", "", "?", "!"))

    def _receipt(self, rng: np.random.Generator) -> str:
        """A receipt line: item with quantity and price, a keyword with an amount, or an address-like line.

        Printed in capitals about half the time, else in title, lower or per-word mixed case, acronyms and
        currency codes kept in capitals: all-capital keywords taught a recogniser to read "Total" as "TOTAL"
        (crnn_fast up to stage 4), and lines whose only capitals came with an all-capital line taught it to read
        "Total due: EUR 40.30" as "TOTAL DUE: EUR 40.30" (stage 5).
        """
        line = self._receipt_line(rng)
        style = _weighted(rng, _RECEIPT_CASE)
        if style == "upper":
            return line
        return _LETTER_WORD.sub(
            lambda m: m.group(0) if m.group(0) in _ACRONYMS else apply_case(m.group(0), style, rng), line
        )

    def _receipt_line(self, rng: np.random.Generator) -> str:
        kind = rng.random()
        if kind < 0.35:
            name = " ".join(self._word(rng).upper()[:10] for _ in range(int(rng.integers(1, 4))))
            return f"{name} {self._price(rng)}" if rng.random() < 0.6 else name
        if kind < 0.6:
            return f"{_pick(rng, _RECEIPT_WORDS)}{_pick(rng, (' ', ': ', ' : ', '  '))}{self._price(rng)}"
        if kind < 0.75:
            return f"{int(rng.integers(1, 20))} {_pick(rng, ('X', 'x', '@', '*'))} {self._price(rng)}"
        if kind < 0.85:
            return _pick(rng, _RECEIPT_WORDS)
        if kind < 0.93:
            return (
                f"{_pick(rng, ('NO.', 'LOT', 'JALAN', 'NO', 'UNIT'))} {int(rng.integers(1, 200))}, "
                f"{self._word(rng).upper()[:10]} {int(rng.integers(1, 40))}"
            )
        return f"{self._date(rng)} {self._time(rng)}"

    SOURCES: Mapping[str, Callable[[TextSampler, np.random.Generator], str]] = {
        "word": _word,
        "common": _common,
        "pseudo": _pseudo,
        "alnum": _alnum,
        "chars": _chars,
        "number": _number,
        "price": _price,
        "date": _date,
        "time": _time,
        "phone": _phone,
        "email": _email,
        "url": _url,
        "code": _code,
        "punct_word": _punct_word,
        "command": _command,
        "phrase": _phrase,
        "sentence": _sentence,
        "receipt": _receipt,
    }

    # --- drawing -------------------------------------------------------------------------------------------
    def sample(self, rng: np.random.Generator, allowed: frozenset[str] | None = None, source: str | None = None) -> str:
        """One string of 1..max_chars characters, all in the charset (and in ``allowed`` when given)."""
        allowed_set = self.allowed if allowed is None else (self.allowed & allowed) | {" "}
        for _ in range(4):
            name = source or _weighted(rng, self.mixture)
            text = self.SOURCES[name](self, rng)
            if name in self.WORDLIKE:
                text = apply_case(text, _weighted(rng, self.case_mix), rng)
            text = " ".join("".join(c for c in text if c in allowed_set).split())
            if len(text) > self.max_chars:
                text = self._trim(text, rng)
            if text:
                return text
        pool = "".join(c for c in self.charset if c in allowed_set and not c.isspace())
        return self._random_chars(rng, pool or "0", 1, min(8, self.max_chars))

    def _trim(self, text: str, rng: np.random.Generator) -> str:
        """Cut at a word boundary where one exists, else take a random window."""
        cut = text[: self.max_chars]
        if " " in cut and text[self.max_chars : self.max_chars + 1] != "":
            cut = cut.rsplit(" ", 1)[0]
        if len(cut) < self.max_chars // 3:
            start = int(rng.integers(0, len(text) - self.max_chars + 1))
            cut = text[start : start + self.max_chars]
        return cut.strip()
