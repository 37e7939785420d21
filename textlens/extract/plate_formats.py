"""Licence-plate formats: a small table of templates per region, the checkers built from it, and the
normalisation of OCR confusions (O/0, I/1, B/8, S/5, Z/2 …) where a format demands a letter or a digit.

A template spells a plate's characters: ``A`` a letter (of the format's ``letters``), ``9`` a digit, ``X`` either,
``A{1,3}`` / ``9{1,4}`` a run of a length within the range, ``[BH]`` those characters as printed; a space or a
hyphen is the separator printed there.
Plates are compared and checked on their letters and digits only (``compact``): what a reader reports as the
separators is not scored, and the format prints them back (``PlateFormat.display``).

Regions are ISO 3166 codes (``US-CA`` for a state); a template shared by several places (AAA-9999: New York,
Pennsylvania, Texas, Georgia, Ohio, Michigan, North Carolina …) names the first with its ``note`` listing the rest.
Letters reach only A–Z: district codes with umlauts (German ``LÖ``) and the Polish diacritics are not covered.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"

# Pairs OCR confuses between the letter and the digit shape; used only to move a character into the class the
# format needs at its position (a letter where a digit must stand, or the reverse).
LETTER_TO_DIGIT = {"O": "0", "Q": "0", "D": "0", "U": "0", "I": "1", "L": "1", "T": "1", "J": "1", "Z": "2",
                   "E": "3", "A": "4", "S": "5", "G": "6", "B": "8"}  # fmt: skip
DIGIT_TO_LETTER = {"0": "O", "1": "I", "2": "Z", "3": "B", "4": "A", "5": "S", "6": "G", "7": "T", "8": "B"}

_RUN = re.compile(r"([AX9])(?:\{(\d+)(?:,(\d+))?\})?|([ \-])|\[([A-Z0-9]+)\]")


@dataclass(frozen=True)
class PlateFormat:
    """One plate layout of a region: ``template`` (see the module docstring), the letters allowed at ``A``
    positions, the allowed prefixes of the plate's letters and digits (``prefixes``: Indian state codes), a
    ``note`` for people (what else uses the layout) and the most characters a plate may have (``max_chars``)."""

    region: str
    name: str
    template: str
    letters: str = UPPER
    prefixes: frozenset[str] = frozenset()
    note: str = ""
    max_chars: int = 0  # 0: no limit beyond the template's
    _runs: tuple[tuple[str, int, int], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        runs: list[tuple[str, int, int]] = []
        position = 0
        for match in _RUN.finditer(self.template):
            if match.start() != position:
                raise ValueError(f"plate template {self.template!r}: cannot read {self.template[position:]!r}")
            position = match.end()
            if match.group(4):
                runs.append((match.group(4), 1, 1))
                continue
            if match.group(5):  # literal characters, one run each
                runs.extend(("=" + ch, 1, 1) for ch in match.group(5))
                continue
            low = int(match.group(2) or 1)
            high = int(match.group(3) or low)
            runs.append((match.group(1), low, high))
        if position != len(self.template):
            raise ValueError(f"plate template {self.template!r}: cannot read {self.template[position:]!r}")
        object.__setattr__(self, "_runs", tuple(runs))

    @property
    def key(self) -> str:
        return f"{self.region}:{self.name}"

    def classes(self, kind: str) -> str:
        """The characters a template kind (A, 9, X, or ``=`` and a literal) allows here."""
        if kind.startswith("="):
            return kind[1:]
        return {"A": self.letters, "9": DIGITS, "X": self.letters + DIGITS}[kind]

    def regex(self) -> re.Pattern[str]:
        """Matches the compact plate (letters and digits only)."""
        parts = []
        for kind, low, high in self._runs:
            if kind in " -":
                continue
            chars = re.escape(self.classes(kind))
            parts.append(f"[{chars}]{{{low},{high}}}")
        return re.compile("".join(parts))

    def layouts(self) -> Iterator[tuple[str, ...]]:
        """Every fixed-length expansion of the template: per character, the string of characters allowed there
        (separators left out)."""
        choices = [range(low, high + 1) for kind, low, high in self._runs if kind not in " -"]
        kinds = [kind for kind, _, _ in self._runs if kind not in " -"]
        for lengths in itertools.product(*choices):
            yield tuple(self.classes(kind) for kind, n in zip(kinds, lengths, strict=True) for _ in range(n))

    def accepts(self, compact_plate: str) -> bool:
        if not self.regex().fullmatch(compact_plate):
            return False
        if self.max_chars and len(compact_plate) > self.max_chars:
            return False
        return not self.prefixes or any(compact_plate.startswith(p) for p in self.prefixes)

    def display(self, compact_plate: str) -> str:
        """The plate with the template's separators put back (the compact string when it does not fit)."""
        if not self.accepts(compact_plate):
            return compact_plate
        # Letter/digit runs of variable length: split by class changes, which is how the runs differ.
        pattern = "".join(
            f"([{re.escape(self.classes(k))}]{{{lo},{hi}}})" if k not in " -" else "" for k, lo, hi in self._runs
        )
        match = re.fullmatch(pattern, compact_plate)
        if match is None:
            return compact_plate
        out, group = [], 1
        for kind, _, _ in self._runs:
            if kind in " -":
                out.append(kind)
            else:
                out.append(match.group(group))
                group += 1
        return "".join(out)


# India: state and union-territory codes (the first two letters of every plate but the BH series).
INDIAN_STATES = frozenset({
    "AN", "AP", "AR", "AS", "BR", "CH", "CG", "DD", "DL", "DN", "GA", "GJ", "HR", "HP", "JH", "JK", "KA", "KL", "LA",
    "LD", "MH", "ML", "MN", "MP", "MZ", "NL", "OD", "OR", "PB", "PY", "RJ", "SK", "TN", "TR", "TS", "UK", "UP", "WB",
})  # fmt: skip
_FR = "ABCDEFGHJKLMNPQRSTVWXYZ"  # SIV: no I, O, U
_IT = "ABCDEFGHJKLMNPRSTVWXYZ"  # no I, O, Q, U
_ES = "BCDFGHJKLMNPRSTVWXYZ"  # consonants but Ñ and Q
_NL = "BDFGHJKLNPRSTVXZ"  # sidecodes 6+: no vowels, no C, M, Q, W
_GB = "ABCDEFGHJKLMNOPRSTUVWXYZ"  # no I, Q

FORMATS: tuple[PlateFormat, ...] = (
    PlateFormat("GB", "current", "AA99 AAA", _GB, note="2001 on: memory tag, age identifier, random letters"),
    PlateFormat("GB", "prefix", "A9{1,3} AAA", _GB, note="1983-2001"),
    PlateFormat("DE", "standard", "A{1,3}-A{1,2} 9{1,4}", note="district, letters, number", max_chars=8),
    PlateFormat("FR", "siv", "AA-999-AA", _FR, note="SIV, 2009 on"),
    PlateFormat("NL", "sidecode-6", "99-AA-AA", _NL),
    PlateFormat("NL", "sidecode-7", "99-AAA-9", _NL),
    PlateFormat("NL", "sidecode-8", "9-AAA-99", _NL),
    PlateFormat("NL", "sidecode-9", "AA-999-A", _NL),
    PlateFormat("NL", "sidecode-10", "A-999-AA", _NL),
    PlateFormat("NL", "sidecode-11", "AAA-99-A", _NL),
    PlateFormat("NL", "sidecode-13", "9-AA-999", _NL),
    PlateFormat("IT", "current", "AA 999AA", _IT, note="1994 on"),
    PlateFormat("ES", "current", "9999 AAA", _ES, note="2000 on"),
    PlateFormat("PL", "two-letter", "AA 9{4,5}", note="district of two letters, four or five digits"),
    PlateFormat("PL", "two-letter-mixed", "AA 9999A"),
    PlateFormat("PL", "three-letter", "AAA 9999"),
    PlateFormat("PL", "three-letter-mixed", "AAA 99AA"),
    PlateFormat("US-CA", "standard", "9AAA999", note="California 1980 on"),
    PlateFormat("US-NY", "aaa-9999", "AAA-9999", note="also PA, TX, GA, OH, MI, NC, VA, WA and others"),
    PlateFormat("US-FL", "standard", "AAA A99", note="Florida: three letters, a letter and two digits"),
    PlateFormat("US-IL", "standard", "AA 99999", note="Illinois passenger plates"),
    PlateFormat("IN", "standard", "AA 99 A{1,3} 9999", prefixes=INDIAN_STATES, note="state, district, series"),
    PlateFormat("IN", "no-series", "AA 99 9999", prefixes=INDIAN_STATES, note="older plates without a series"),
    PlateFormat("IN", "bh", "99 [BH] 9999 A{1,2}", note="Bharat series, 2021 on"),
)


def compact(text: str) -> str:
    """Letters and digits only, upper case: the form plates are compared in."""
    return "".join(ch for ch in text.upper() if ch.isascii() and ch.isalnum())


def formats_of(regions: Iterable[str] | None = None) -> tuple[PlateFormat, ...]:
    """The formats of the given regions (a region ``US`` takes every ``US-*``), or all of them."""
    if regions is None:
        return FORMATS
    wanted = [r.upper() for r in regions]
    return tuple(f for f in FORMATS if any(f.region == w or f.region.startswith(w + "-") for w in wanted))


@dataclass(frozen=True)
class PlateMatch:
    """A plate string a format accepts: the compact plate, its display form, the format, and how many characters
    were changed by the letter/digit normalisation."""

    plate: str
    display: str
    format: PlateFormat
    changes: int


def coerce(text: str, layout: tuple[str, ...]) -> tuple[str, int] | None:
    """``text`` (compact) fitted to a fixed ``layout``: each character kept when allowed, else swapped for its
    letter/digit look-alike when that is allowed; None when a character fits neither way. Also the number of swaps."""
    if len(text) != len(layout):
        return None
    out, changes = [], 0
    for ch, allowed in zip(text, layout, strict=True):
        if ch in allowed:
            out.append(ch)
            continue
        swapped = LETTER_TO_DIGIT.get(ch) if ch.isalpha() else DIGIT_TO_LETTER.get(ch)
        if swapped is None or swapped not in allowed:
            return None
        out.append(swapped)
        changes += 1
    return "".join(out), changes


def match_plate(text: str, formats: Iterable[PlateFormat] = FORMATS) -> list[PlateMatch]:
    """Every format that accepts ``text`` after normalising confusions at letter-only and digit-only positions,
    fewest changes first (ties keep the table's order)."""
    plate = compact(text)
    found: list[PlateMatch] = []
    for fmt in formats:
        best: tuple[str, int] | None = None
        for layout in fmt.layouts():
            fitted = coerce(plate, layout)
            if fitted is not None and fmt.accepts(fitted[0]) and (best is None or fitted[1] < best[1]):
                best = fitted
        if best is not None:
            found.append(PlateMatch(best[0], fmt.display(best[0]), fmt, best[1]))
    return sorted(found, key=lambda m: m.changes)


def random_plate(rng: object, fmt: PlateFormat) -> str:
    """A random compact plate of ``fmt`` (``rng``: a numpy Generator), for the synthesiser."""
    import numpy as np

    assert isinstance(rng, np.random.Generator)
    layouts = list(fmt.layouts())
    for _ in range(100):
        layout = layouts[int(rng.integers(len(layouts)))]
        plate = "".join(str(rng.choice(list(allowed))) for allowed in layout)
        if fmt.prefixes:
            prefix = sorted(fmt.prefixes)[int(rng.integers(len(fmt.prefixes)))]
            if all(ch in allowed for ch, allowed in zip(prefix, layout, strict=False)):
                plate = prefix + plate[len(prefix) :]
        if fmt.accepts(plate) and not plate.startswith("0"):
            return plate
    raise ValueError(f"could not draw a plate of {fmt.key}")
