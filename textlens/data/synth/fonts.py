"""Font discovery for the synthetic engine: installed fonts, their glyph coverage, families and a split by
family.

Reading every font's cmap with fontTools takes seconds, so the facts about each file (family, style, fixed
pitch, covered code points) are cached in ``~/.cache/textlens/fonts.json`` keyed by path and modification
time.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from textlens.errors import ConfigError, OutputError, UnreadableFile
from textlens.io.atomic import atomic_write_text

FONT_DIRS = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".fonts",
    Path.home() / ".local/share/fonts",
)
FONT_SUFFIXES = {".ttf", ".otf"}  # .pfb/.t1 are skipped: URW base35 ships the same faces as .otf
CACHE_PATH = Path(os.environ.get("TEXTLENS_CACHE", Path.home() / ".cache" / "textlens")) / "fonts.json"
CACHE_VERSION = 3  # 3: caps_only

# Families that are symbols, emoji, math or otherwise useless for Latin text even when their cmap says
# otherwise.
_SKIP_FAMILY = re.compile(
    r"symbol|dingbat|emoji|math|music|ornament|d050000l|standard symbols|keyboard|initials|"
    r"smallcaps|nushu",
    re.I,
)
_MONO_HINT = re.compile(r"mono|code|courier|hack|inconsolata|consol|typewriter|cousine", re.I)
_SERIF_HINT = re.compile(
    r"serif|roman|times|tinos|georgia|garamond|libertine|gentium|caladea|bookman|"
    r"schoolbook|palatino|pagella|termes|bonum|schola|heros.*no|p052|c059|caslon",
    re.I,
)
_DISPLAY_HINT = re.compile(
    r"comic|chancery|chorus|script|hand|z003|display|condensed|narrow|\\bcn\\b|"
    r"lobster|leckerli|comfortaa|sketch|bajaderka|staypuft|humor|titling|style std",
    re.I,
)
_VAL_FRACTION = 0.15
# Metric clones of one design split together, or the validation faces would not be unseen shapes.
_DESIGN_GROUPS = {
    "helvetica": ("Arimo", "Liberation Sans", "Nimbus Sans", "TeX Gyre Heros", "FreeSans"),
    "helvetica-narrow": ("Nimbus Sans Narrow", "TeX Gyre Heros Cn"),
    "times": ("Tinos", "Liberation Serif", "Nimbus Roman", "TeX Gyre Termes", "FreeSerif"),
    "courier": ("Cousine", "Liberation Mono", "Nimbus Mono PS", "TeX Gyre Cursor", "FreeMono"),
    "palatino": ("P052", "TeX Gyre Pagella"),
    "bookman": ("URW Bookman", "TeX Gyre Bonum"),
    "schoolbook": ("C059", "TeX Gyre Schola"),
    "avantgarde": ("URW Gothic", "TeX Gyre Adventor"),
    "chancery": ("Z003", "TeX Gyre Chorus"),
    "calibri": ("Carlito",),
    "cambria": ("Caladea",),
}
_GROUP_OF = {family: group for group, families in _DESIGN_GROUPS.items() for family in families}
# Kept in the training split whatever their hash: the typewriter faces are the few that look like FUNSD forms.
_ALWAYS_TRAIN = {"courier"}


@dataclass(frozen=True)
class FontInfo:
    """One font file: where it is, its family and style, what it looks like and which code points it maps."""

    path: str
    family: str
    style: str
    monospace: bool
    category: str  # "mono", "serif", "sans" or "display"
    codepoints: frozenset[int]

    def covers(self, text: str) -> bool:
        return all(ord(ch) in self.codepoints or ch.isspace() for ch in text)

    @property
    def bold(self) -> bool:
        return bool(re.search(r"bold|black|heavy|semibold|demi", self.style, re.I))

    @property
    def italic(self) -> bool:
        return bool(re.search(r"italic|oblique", self.style, re.I))


def _ranges(codepoints: Iterable[int]) -> list[list[int]]:
    """Compress code points to ``[start, end]`` runs so the JSON cache stays small."""
    out: list[list[int]] = []
    for cp in sorted(codepoints):
        if out and cp == out[-1][1] + 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return out


def _expand(ranges: Iterable[Sequence[int]]) -> frozenset[int]:
    return frozenset(cp for start, end in ranges for cp in range(start, end + 1))


def _name(font: object, ids: Sequence[int]) -> str:
    table = font["name"]  # type: ignore[index]
    for name_id in ids:
        value = table.getDebugName(name_id)
        if value:
            return str(value)
    return ""


def _category(family: str, monospace: bool) -> str:
    if monospace or _MONO_HINT.search(family):
        return "mono"
    if _DISPLAY_HINT.search(family):
        return "display"
    if _SERIF_HINT.search(family) and "sans" not in family.lower():
        return "serif"
    return "sans"


# Lower-case letters whose capitals have another shape in ordinary designs (not c/o/s/v/w/x/z).
_CASE_PROBE = "aegnrt"
# Median ink IoU of those letters with their capitals above which a font draws lower case as capitals
# (caps-only, titling and small-caps designs). Measured over the installed Latin fonts: such designs score
# 0.72-1.00 (Tomson Talks, Beteckna, Solothurn, Mekanus Titling, Romande/Irianis Style), every other face
# at most 0.65 (black and condensed weights are the highest).
CAPS_ONLY_IOU = 0.7


def _glyph_mask(font: Any, char: str) -> np.ndarray | None:
    """The glyph's ink, cropped to its box and resized to 24×24, as a boolean mask (None if blank)."""
    mask = font.getmask(char)
    width, height = mask.size
    if not width or not height:
        return None
    ink = np.asarray(mask, dtype=np.uint8).reshape(height, width) > 127
    if not ink.any():
        return None
    ys, xs = np.nonzero(ink)
    box = ink[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.uint8) * 255
    return cv2.resize(box, (24, 24), interpolation=cv2.INTER_AREA) > 127


def case_similarity(font: Any) -> float | None:
    """Median IoU of the probe letters' lower-case and capital glyphs (a PIL font); None if too few exist."""
    scores = []
    for lower in _CASE_PROBE:
        a, b = _glyph_mask(font, lower), _glyph_mask(font, lower.upper())
        if a is not None and b is not None:
            scores.append(float((a & b).sum()) / max(1, int((a | b).sum())))
    return float(np.median(scores)) if len(scores) >= 4 else None


def _caps_only(path: Path) -> bool:
    """Whether the font draws lower case as capitals: its text would be labelled in the wrong case."""
    from PIL import ImageFont

    try:
        similarity = case_similarity(ImageFont.truetype(str(path), 64))
    except (OSError, ValueError):
        return False
    return similarity is not None and similarity > CAPS_ONLY_IOU


def _read_font(path: Path) -> dict[str, object] | None:
    """Facts about one font file, or None when fontTools cannot read it."""
    from fontTools.ttLib import TTFont  # lazy: only needed when the cache is cold

    try:
        with TTFont(str(path), lazy=True, fontNumber=0) as font:
            cmap = font.getBestCmap() or {}
            family = _name(font, (16, 1)) or path.stem
            style = _name(font, (17, 2)) or "Regular"
            fixed = bool(getattr(font["post"], "isFixedPitch", 0)) if "post" in font else False
    except Exception:  # fontTools raises many kinds on broken files; a bad font is just skipped
        return None
    caps_only = ord("a") in cmap and ord("A") in cmap and _caps_only(path)
    return {"family": family, "style": style, "monospace": fixed, "ranges": _ranges(cmap), "caps_only": caps_only}


def _fc_list() -> list[Path]:
    """The files fontconfig knows (it also sees fonts outside the usual folders: TeX Gyre under texmf)."""
    try:
        out = subprocess.run(
            ["fc-list", "--format", "%{file}\\n"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [Path(line) for line in out.splitlines() if Path(line).suffix.lower() in FONT_SUFFIXES]


def _font_files(dirs: Iterable[Path], use_fontconfig: bool = True) -> list[Path]:
    files: set[Path] = {p.resolve() for p in _fc_list() if p.is_file()} if use_fontconfig else set()
    for root in dirs:
        if root.is_dir():
            files.update(p.resolve() for p in root.rglob("*") if p.suffix.lower() in FONT_SUFFIXES and p.is_file())
    return sorted(files)


def _load_cache(path: Path) -> dict[str, dict[str, object]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
        return {}
    fonts = data.get("fonts")
    return fonts if isinstance(fonts, dict) else {}


def _save_cache(path: Path, fonts: dict[str, dict[str, object]]) -> None:
    """Atomic write; a read-only home just means no cache."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps({"version": CACHE_VERSION, "fonts": fonts}))
    except (OSError, OutputError):
        return


def scan_fonts(
    dirs: Iterable[Path] = FONT_DIRS, cache_path: Path | None = CACHE_PATH, use_fontconfig: bool = True
) -> list[FontInfo]:
    """Every readable .ttf/.otf fontconfig lists or under ``dirs``, less symbol fonts; cached by path and
    mtime."""
    cache = _load_cache(cache_path) if cache_path else {}
    fresh: dict[str, dict[str, object]] = {}
    fonts: list[FontInfo] = []
    for path in _font_files(dirs, use_fontconfig):
        key = f"{path}|{path.stat().st_mtime_ns}"
        facts = cache.get(key)
        if facts is None:
            facts = _read_font(path) or {"broken": True}
        fresh[key] = facts
        if facts.get("broken") or facts.get("caps_only") or _SKIP_FAMILY.search(str(facts["family"])):
            continue
        family = str(facts["family"])
        fonts.append(
            FontInfo(
                path=str(path),
                family=family,
                style=str(facts["style"]),
                monospace=bool(facts["monospace"]),
                category=_category(family, bool(facts["monospace"])),
                codepoints=_expand(facts["ranges"]),
            )
        )  # type: ignore[arg-type]
    if cache_path and fresh != cache:
        _save_cache(cache_path, fresh)
    return fonts


@lru_cache(maxsize=4)
def installed_fonts() -> tuple[FontInfo, ...]:
    """The installed fonts (scanned once per process)."""
    return tuple(scan_fonts())


def family_split(family: str) -> str:
    """``"train"`` or ``"val"``: a stable hash of the family's design group, so a design is never in both."""
    group = _GROUP_OF.get(family, family)
    if group in _ALWAYS_TRAIN:
        return "train"
    digest = hashlib.sha1(group.encode("utf-8")).digest()
    return "val" if int.from_bytes(digest[:4], "big") / 2**32 < _VAL_FRACTION else "train"


def latin_coverage(font: FontInfo) -> float:
    """Share of the 62 ASCII letters and digits the font maps; CJK-only and symbol fonts score near zero."""
    alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return sum(ord(c) in font.codepoints for c in alnum) / len(alnum)


def select_fonts(
    which: str | Sequence[str] = "train", charset: str | None = None, min_coverage: float = 0.9
) -> list[FontInfo]:
    """Fonts for a split (``train``, ``val``, ``all``) or an explicit list of paths or family names.

    A font is kept when it maps at least ``min_coverage`` of ``charset`` (default: the ASCII alphanumerics);
    the renderer then only gives it text it fully covers.
    """
    fonts = list(installed_fonts())
    if isinstance(which, str) and which in {"train", "val", "all"}:
        chosen = [f for f in fonts if which == "all" or family_split(f.family) == which]
    else:
        names = [which] if isinstance(which, str) else list(which)
        chosen = [f for f in fonts if f.path in names or f.family in names or Path(f.path).name in names]
        chosen += [_font_from_path(Path(n)) for n in names if Path(n).is_file() and n not in {f.path for f in chosen}]
    chosen = [f for f in chosen if latin_coverage(f) >= 0.95 or charset is not None]
    if charset is not None:
        wanted = [c for c in dict.fromkeys(charset) if not c.isspace()]
        chosen = [f for f in chosen if sum(ord(c) in f.codepoints for c in wanted) >= min_coverage * len(wanted)]
    if not chosen:
        raise ConfigError(
            f"no installed font matches fonts={which!r} with the charset's coverage; "
            "install fonts (see the Makefile's font list) or pass font paths"
        )
    return chosen


def _font_from_path(path: Path) -> FontInfo:
    facts = _read_font(path)
    if facts is None:
        raise UnreadableFile(f"cannot read font file {path}")
    family = str(facts["family"])
    return FontInfo(
        path=str(path.resolve()),
        family=family,
        style=str(facts["style"]),
        monospace=bool(facts["monospace"]),
        category=_category(family, bool(facts["monospace"])),
        codepoints=_expand(facts["ranges"]),
    )  # type: ignore[arg-type]
