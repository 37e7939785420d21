"""Build the accented-lines set: real translated text lines of 16 Latin-script languages, rendered as line crops.

    python recipes/prepare_accented_lines.py [--out runs/accented-lines] [--per-lang 60] [--langs fr,de,...]

HELD-OUT DATA: the translated text comes from the gettext message catalogs (``.mo``) that Debian's base packages
install. These catalogs must NEVER be used for training (no synthetic text source, word list or finetune may read
them): they are kept apart as held-out text for measuring accented Latin recognition (issue #36).

Text: ``/usr/share/locale/<lang>/LC_MESSAGES/<domain>.mo`` for a fixed list of domains that every Debian system
has (``DOMAINS``: coreutils, bash, dpkg, apt, grep, findutils, diffutils, tar, sed, adduser, Linux-PAM, shadow;
packages of priority required, adduser important), read with a small ``.mo`` parser (no gettext tools needed),
for ``LANGS`` (fr de es it pt nl pl cs sk hu ro tr sv da nb fi; ``pt`` is European Portuguese). A language
without any of these catalogs is skipped and named. A translation is a candidate line when (``clean_line``):

- it is translated (not empty, not the English original), the catalog header excluded;
- NFC and ligatures spelt out (``normalize_label``), ends stripped, runs of spaces collapsed: one line (a
  message with a newline, tab or other control character inside is skipped);
- 8 to 60 characters long, with letters for at least half of its non-space characters;
- free of placeholders and accelerators: any ``%`` (printf ``%s``, ``%d``, ``%1$s``, ``%-10s``, ``%%``), ``{``
  or ``}`` (``{}``, ``{0}``, ``{name}``), an ``&`` before a letter (``&File``) and a ``_`` starting a word
  (``_File``) skip the line; a ``_`` inside a word (``DPKG_ROOT``) is kept;
- every character in the ``latin_ext`` charset (``textlens.data.charset``), or a space.

Per language the candidates of all domains are pooled (duplicates once, the first domain in ``DOMAINS`` order
named) and the ``--per-lang`` lines with the smallest SHA-256 of ``"<lang>\\0<text>"`` are kept: a choice fixed
by the text alone, not by random state, so the same catalogs give the same set on any machine.

Rendering: ``LineRenderer(preset=<print without neighbouring lines>, fonts="val", charset="latin_ext")``
(``fonts="val"``: font families the
recogniser never trains on), each line drawn by ``render(text, rng)`` with ``rng`` seeded by the text's hash and
``--seed``; the crop keeps its capture size unless it is under 32 or over 64 px high, when it is scaled (aspect
kept) into that range. Writes ``OUT/images/<lang>/<n>.png``, ``OUT/manifest.jsonl`` (crop records with ``text``,
``lang``, ``domain`` and ``font``; languages interleaved, so the first records cover all of them) and
``OUT/sources.json`` (the package version behind each domain, the candidates and lines per language, the
languages skipped). The set depends on the installed package versions (Debian 12: coreutils 9.1, dpkg 1.21,
apt 2.6, ...), recorded in ``sources.json``. A Docker image whose dpkg configuration excludes
``/usr/share/locale`` has no catalogs: reinstall the packages without that exclusion. The data stays under
``runs/`` (git-ignored) and is never committed.

Score it with ``python -m bench.run --sets accented_lines`` (per language, beside Tesseract with the language's
``-l`` pack) or ``python -m textlens eval rec --manifest runs/accented-lines/manifest.jsonl --json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import struct
import subprocess
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a file: make `textlens` importable from the repository
    sys.path.insert(0, str(REPO))

from textlens.data.charset import LATIN_EXT, normalize_label  # noqa: E402
from textlens.data.manifest import ManifestRecord, atomic_write_text, write_manifest  # noqa: E402

DEFAULT_OUT = REPO / "runs" / "accented-lines"
LOCALE_DIR = Path("/usr/share/locale")
LANGS = ("fr", "de", "es", "it", "pt", "nl", "pl", "cs", "sk", "hu", "ro", "tr", "sv", "da", "nb", "fi")
# gettext domain -> the Debian package that installs its catalogs (all of priority required but adduser, important)
DOMAINS: dict[str, str] = {
    "coreutils": "coreutils",
    "bash": "bash",
    "dpkg": "dpkg",
    "apt": "apt",
    "grep": "grep",
    "findutils": "findutils",
    "diffutils": "diffutils",
    "tar": "tar",
    "sed": "sed",
    "adduser": "adduser",
    "Linux-PAM": "libpam-runtime",
    "shadow": "login",
}
MIN_CHARS, MAX_CHARS = 8, 60
MIN_HEIGHT, MAX_HEIGHT = 32, 64
ALLOWED = frozenset(LATIN_EXT) | {" "}
_MO_MAGIC = 0x950412DE
_CHARSET = re.compile(r"charset=([A-Za-z0-9_.:-]+)", re.IGNORECASE)
# An accelerator: "&" before a letter or digit anywhere ("&File", "Sa&ve"), "_" starting a word ("_File").
_ACCELERATOR = re.compile(r"&\w|(?<!\w)_\w")
_SPACES = re.compile(r" +")


@dataclass(frozen=True)
class Line:
    lang: str
    text: str
    domain: str

    @property
    def digest(self) -> bytes:
        return line_digest(self.lang, self.text)


def line_digest(lang: str, text: str) -> bytes:
    return hashlib.sha256(f"{lang}\0{text}".encode()).digest()


def read_mo(data: bytes) -> list[tuple[str, str]]:
    """The (msgid, msgstr) pairs of a GNU ``.mo`` catalog, decoded with the charset its header names.

    Plural forms come as one pair per form (msgid is the singular); a context (``msgctxt``) is dropped from the
    msgid. Raises ValueError for data that is not a ``.mo`` catalog.
    """
    if len(data) < 20:
        raise ValueError("too short for a .mo catalog")
    for order in "<>":
        magic, _revision, count, ids_at, strs_at = struct.unpack(f"{order}5I", data[:20])
        if magic == _MO_MAGIC:
            break
    else:
        raise ValueError("not a .mo catalog (bad magic number)")

    def entry(table: int, i: int) -> bytes:
        length, offset = struct.unpack(f"{order}2I", data[table + 8 * i : table + 8 * i + 8])
        if offset + length > len(data):
            raise ValueError("a string runs past the end of the catalog")
        return data[offset : offset + length]

    raw = [(entry(ids_at, i), entry(strs_at, i)) for i in range(count)]
    charset = "utf-8"
    for msgid, msgstr in raw:
        if msgid == b"":
            found = _CHARSET.search(msgstr.decode("ascii", "replace"))
            if found and found.group(1).upper() != "CHARSET":
                charset = found.group(1)
    pairs = []
    for msgid, msgstr in raw:
        if msgid == b"":
            continue
        singular = msgid.split(b"\0")[0].split(b"\x04")[-1].decode(charset, "replace")
        pairs += [(singular, form.decode(charset, "replace")) for form in msgstr.split(b"\0")]
    return pairs


def clean_line(msgid: str, msgstr: str) -> str | None:
    """The line a translation gives, or None when it breaks a selection rule (see the module docstring)."""
    if not msgstr or msgstr.strip() == msgid.strip():
        return None
    text = normalize_label(msgstr).strip()
    if any(unicodedata.category(c).startswith("C") for c in text):  # newline, tab, other controls
        return None
    text = _SPACES.sub(" ", text)
    if not MIN_CHARS <= len(text) <= MAX_CHARS:
        return None
    if "%" in text or "{" in text or "}" in text or _ACCELERATOR.search(text):
        return None
    if not set(text) <= ALLOWED:
        return None
    visible = [c for c in text if c != " "]
    if sum(c.isalpha() for c in visible) * 2 < len(visible):
        return None
    return text


def candidates(lang: str, catalogs: Iterable[tuple[str, bytes]]) -> list[Line]:
    """Every distinct clean line of ``lang``'s catalogs, given as (domain, .mo bytes), in catalog order."""
    seen: dict[str, Line] = {}
    for domain, data in catalogs:
        for msgid, msgstr in read_mo(data):
            text = clean_line(msgid, msgstr)
            if text is not None and text not in seen:
                seen[text] = Line(lang, text, domain)
    return list(seen.values())


def pick(lines: Sequence[Line], n: int) -> list[Line]:
    """The ``n`` lines with the smallest hashes: fixed by the texts, independent of their order."""
    return sorted(lines, key=lambda line: (line.digest, line.text))[:n]


def catalogs_of(lang: str, locale_dir: Path = LOCALE_DIR) -> list[tuple[str, bytes]]:
    """(domain, bytes) of each ``DOMAINS`` catalog installed for ``lang``, in ``DOMAINS`` order."""
    out = []
    for domain in DOMAINS:
        path = locale_dir / lang / "LC_MESSAGES" / f"{domain}.mo"
        if path.is_file():
            out.append((domain, path.read_bytes()))
    return out


def package_versions() -> dict[str, str | None]:
    """The installed version of each domain's package (None where dpkg-query does not know it)."""
    out: dict[str, str | None] = {}
    for domain, package in DOMAINS.items():
        version = None
        if shutil.which("dpkg-query"):
            proc = subprocess.run(
                ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True, check=False
            )
            version = (proc.stdout.strip() or None) if proc.returncode == 0 else None
        out[domain] = version
    return out


def natural_height(image: np.ndarray) -> np.ndarray:
    """The crop as captured, scaled (aspect kept) into MIN_HEIGHT..MAX_HEIGHT when it falls outside."""
    h, w = image.shape[:2]
    target = min(max(h, MIN_HEIGHT), MAX_HEIGHT)
    if target == h:
        return image
    new_w = max(1, round(w * target / h))
    interp = cv2.INTER_AREA if target < h else cv2.INTER_CUBIC
    return cv2.resize(image, (new_w, target), interpolation=interp)


def build(out: Path, langs: Sequence[str], per_lang: int, seed: int, locale_dir: Path = LOCALE_DIR) -> dict:
    from textlens.data.synth.lines import LineRenderer
    from textlens.data.synth.presets import PRESETS

    # One line alone, as a page's line detector cuts it: no fragments of the lines above and below.
    renderer = LineRenderer(preset=PRESETS["print"].with_(context_p=0.0), fonts="val", charset="latin_ext")
    images = out / "images"
    if images.exists():
        shutil.rmtree(images)
    per_lang_records: list[list[ManifestRecord]] = []
    summary: dict = {"per_lang": per_lang, "seed": seed, "packages": package_versions(), "langs": {}, "skipped": {}}
    for lang in langs:
        catalogs = catalogs_of(lang, locale_dir)
        if not catalogs:
            summary["skipped"][lang] = f"no catalog of {', '.join(DOMAINS)} under {locale_dir / lang / 'LC_MESSAGES'}"
            print(f"skip {lang}: {summary['skipped'][lang]}", file=sys.stderr)
            continue
        pool = candidates(lang, catalogs)
        chosen = pick(pool, per_lang)
        if len(chosen) < per_lang:
            print(f"{lang}: only {len(chosen)} lines pass the rules (wanted {per_lang})", file=sys.stderr)
        folder = images / lang
        folder.mkdir(parents=True, exist_ok=True)
        records: list[ManifestRecord] = []
        per_lang_records.append(records)
        for n, line in enumerate(chosen):
            rng = np.random.default_rng([seed, int.from_bytes(line.digest[:8], "big")])
            sample = renderer.render(line.text, rng)
            path = folder / f"{n:03d}.png"
            Image.fromarray(natural_height(sample.image)).save(path)
            font = sample.source.rsplit(":", 1)[-1]
            records.append(
                ManifestRecord(
                    image=path, kind="crop", text=line.text, extra={"lang": lang, "domain": line.domain, "font": font}
                )
            )
        summary["langs"][lang] = {
            "domains": [d for d, _ in catalogs],
            "candidates": len(pool),
            "lines": len(chosen),
        }
        print(f"{lang}: {len(chosen)} of {len(pool)} candidate lines from {len(catalogs)} catalogs", file=sys.stderr)
    # Languages interleaved (line 0 of each, then line 1, ...): the first N records (bench --quick, eval --limit)
    # cover every language alike.
    interleaved = [r for group in zip_longest(*per_lang_records) for r in group if r is not None]
    write_manifest(out / "manifest.jsonl", interleaved)
    atomic_write_text(out / "sources.json", json.dumps(summary, indent=1, ensure_ascii=False) + "\n")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default runs/accented-lines)")
    parser.add_argument("--langs", default=",".join(LANGS), help="comma list of ISO 639-1 codes")
    parser.add_argument("--per-lang", type=int, default=60, help="lines per language (default 60)")
    parser.add_argument("--seed", type=int, default=0, help="rendering seed, mixed with each line's hash")
    parser.add_argument("--locale-dir", type=Path, default=LOCALE_DIR, help="where the catalogs are installed")
    args = parser.parse_args(argv)
    summary = build(args.out, args.langs.split(","), args.per_lang, args.seed, args.locale_dir)
    n = sum(v["lines"] for v in summary["langs"].values())
    print(f"{n} lines in {len(summary['langs'])} languages written to {args.out / 'manifest.jsonl'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
