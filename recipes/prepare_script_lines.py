"""Build the script-lines set: real translated text lines in Hindi, Marathi, Nepali and Korean, rendered as line
crops in font families never used for training; and, with ``--val``, the synthetic validation lines training
watches.

    python recipes/prepare_script_lines.py [--out runs/script-lines] [--per-lang 60] [--langs hi,mr,ne,ko]
        [--download] [--val N]

HELD-OUT DATA: the text comes from the gettext message catalogs (``.mo``) Debian packages install. These catalogs
must NEVER be used for training (no synthetic text source, word list or finetune may read them): training text
comes from the hunspell/aspell dictionaries (``textlens.data.synth.scripts``), and these lines measure the
Devanagari and Hangul recognisers (issue #41) beside Tesseract's ``hin``/``mar``/``nep``/``kor``.

Text: ``/usr/share/locale/<lang>/LC_MESSAGES/<domain>.mo`` for the fixed ``DOMAINS`` (GTK, GLib, apt, dpkg, PAM,
iso-codes…), read with ``recipes/prepare_accented_lines.py``'s ``.mo`` reader and the same rules (translated,
one line, no placeholders or accelerators, letters for at least half of the characters), with two changes: the
line's characters must lie in the script's charset (``deva`` or ``hangul``, NFC) and it must hold at least
``MIN_SCRIPT_SHARE`` of its letters in the script (a Korean catalog's untranslated English stays out); lines are
4 to 60 code points. ``--download`` fetches the packages of the domains not installed here with ``apt-get
download`` and unpacks them with ``dpkg-deb -x`` under ``OUT/debs`` (nothing is installed). Per language the
``--per-lang`` lines with the smallest SHA-256 of ``"<lang>\\0<text>"`` are kept (a choice fixed by the text).

Rendering: ``LineRenderer(preset=<print without neighbouring lines>, langs=(lang,), fonts="val")``: ``val`` is the
script's held-out families (``textlens.data.synth.scripts.HELDOUT_FAMILIES``: Annapurna SIL and Kalimati for
Devanagari, NanumMyeongjo and UnDotum for Hangul), which the training split never holds. Crops are scaled into
32..64 px high. Writes ``OUT/images/<lang>/<n>.png``, ``OUT/manifest.jsonl`` (``text``, ``lang``, ``domain``,
``font``, ``script``; languages interleaved) and ``OUT/sources.json`` (package versions, candidates per language,
languages skipped). The data stays under ``runs/`` (git-ignored) and is never committed.

``--val N`` also writes ``OUT/val-<script>/manifest.jsonl``: N synthetic lines per script from the dictionaries
(the training text source, another seed) in the training fonts, for ``textlens train rec --val``; no catalog
text goes there.

Score: ``python -m bench.run --sets script_lines`` or ``python -m textlens eval rec --manifest
runs/script-lines/manifest.jsonl --json``; ``python recipes/prepare_script_lines.py --score PRED.jsonl`` prints the
CER over NFC code points and over grapheme clusters of a predictions file (JSON lines with ``text`` and ``pred``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from itertools import zip_longest
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a file: make `textlens` importable from the repository
    sys.path.insert(0, str(REPO))

from textlens.data.charset import normalize_label, resolve_charset  # noqa: E402
from textlens.data.manifest import ManifestRecord, atomic_write_text, write_manifest  # noqa: E402


def _accented_lines():  # type: ignore[no-untyped-def]
    """recipes/prepare_accented_lines.py as a module: its .mo reader, line digest and height rule are shared."""
    name = "prepare_accented_lines"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parent / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


acc = _accented_lines()

DEFAULT_OUT = REPO / "runs" / "script-lines"
LOCALE_DIR = Path("/usr/share/locale")
LANGS = ("hi", "mr", "ne", "ko")
SCRIPT_OF = {"hi": "deva", "mr": "deva", "ne": "deva", "ko": "hangul"}
# gettext domain -> the Debian 12 package that installs its catalogs
DOMAINS: dict[str, str] = {
    "Linux-PAM": "libpam-runtime",
    "apt": "apt",
    "libapt-pkg6.0": "libapt-pkg6.0",
    "dpkg": "dpkg",
    "shadow": "login",
    "coreutils": "coreutils",
    "bash": "bash",
    "glib20": "libglib2.0-data",
    "gtk30": "libgtk-3-common",
    "gtk30-properties": "libgtk-3-common",
    "gtk20": "libgtk2.0-common",
    "gdk-pixbuf": "libgdk-pixbuf2.0-common",
    "at-spi2-core": "at-spi2-common",
    "gsettings-desktop-schemas": "gsettings-desktop-schemas",
    "shared-mime-info": "shared-mime-info",
    "xdg-user-dirs": "xdg-user-dirs",
    "software-properties": "software-properties-common",
    "system-config-printer": "system-config-printer-common",
    "PackageKit": "packagekit",
    "notification-daemon": "notification-daemon",
    "appstream": "appstream",
    "python-apt": "python-apt-common",
    "libsecret": "libsecret-common",
    "iso_3166": "iso-codes",
    "iso_639": "iso-codes",
}
MIN_CHARS, MAX_CHARS = 4, 60
MIN_SCRIPT_SHARE = 0.5  # of a line's letters, in the script (Devanagari or Hangul)


def script_letter(ch: str, script: str) -> bool:
    code = ord(ch)
    return 0x0900 <= code <= 0x097F if script == "deva" else 0xAC00 <= code <= 0xD7A3


def clean_line(msgid: str, msgstr: str, script: str) -> str | None:
    """The line a translation gives in ``script``, or None when it breaks a rule (see the module docstring)."""
    if not msgstr or msgstr.strip() == msgid.strip():
        return None
    text = acc._SPACES.sub(" ", normalize_label(msgstr).strip())
    if any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in text) or "\u200c" in text or "\u200d" in text:
        return None  # controls, and the joiners (ZWJ/ZWNJ are not classes)
    if not MIN_CHARS <= len(text) <= MAX_CHARS:
        return None
    if "%" in text or "{" in text or "}" in text or acc._ACCELERATOR.search(text) or "_" in text:
        return None
    if not set(text) <= set(resolve_charset(script)) | {" "}:
        return None
    visible = [c for c in text if c != " "]
    letters = [c for c in visible if c.isalpha() or script_letter(c, script)]
    if len(letters) * 2 < len(visible):
        return None
    if sum(script_letter(c, script) for c in letters) < MIN_SCRIPT_SHARE * len(letters):
        return None
    return text


def candidates(lang: str, catalogs: Sequence[tuple[str, bytes]]) -> list:
    """Every distinct clean line of ``lang``'s catalogs, given as (domain, .mo bytes), in catalog order."""
    seen: dict[str, object] = {}
    for domain, data in catalogs:
        for msgid, msgstr in acc.read_mo(data):
            text = clean_line(msgid, msgstr, SCRIPT_OF[lang])
            if text is not None and text not in seen:
                seen[text] = acc.Line(lang, text, domain)
    return list(seen.values())


def fetch(package: str, out: Path) -> Path:
    """Download ``package`` (apt-get download, no root needed) and unpack it (dpkg-deb -x); its root folder."""
    root = out / "src" / package
    if (root / ".done").is_file():
        return root
    debs = out / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    found = sorted(debs.glob(f"{package}_*.deb"))
    if not found:
        subprocess.run(["apt-get", "download", package], cwd=debs, check=True, capture_output=True)
        found = sorted(debs.glob(f"{package}_*.deb"))
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    subprocess.run(["dpkg-deb", "-x", str(found[-1]), str(root)], check=True, capture_output=True)
    (root / ".done").write_text(found[-1].name + "\n")
    return root


def catalogs_of(lang: str, locale_dirs: Sequence[Path]) -> list[tuple[str, bytes]]:
    """(domain, bytes) of each ``DOMAINS`` catalog for ``lang`` in the first locale folder that has it."""
    out = []
    for domain in DOMAINS:
        for folder in locale_dirs:
            path = folder / lang / "LC_MESSAGES" / f"{domain}.mo"
            if path.is_file():
                out.append((domain, path.read_bytes()))
                break
    return out


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for package in dict.fromkeys(DOMAINS.values()):
        proc = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True, check=False
        )
        out[package] = (proc.stdout.strip() or None) if proc.returncode == 0 else None
    return out


def build(
    out: Path,
    langs: Sequence[str],
    per_lang: int,
    seed: int,
    locale_dir: Path = LOCALE_DIR,
    download: bool = False,
) -> dict:
    from textlens.data.synth.lines import LineRenderer
    from textlens.data.synth.presets import PRESETS

    locale_dirs = [locale_dir]
    if download:
        missing = {
            package
            for domain, package in DOMAINS.items()
            if not any((locale_dir / lang / "LC_MESSAGES" / f"{domain}.mo").is_file() for lang in langs)
        }
        locale_dirs += [fetch(package, out) / "usr" / "share" / "locale" for package in sorted(missing)]
    preset = PRESETS["print"].with_(context_p=0.0)  # one line alone, as a page's line detector cuts it
    images = out / "images"
    if images.exists():
        shutil.rmtree(images)
    per_lang_records: list[list[ManifestRecord]] = []
    summary: dict = {"per_lang": per_lang, "seed": seed, "packages": package_versions(), "langs": {}, "skipped": {}}
    for lang in langs:
        catalogs = catalogs_of(lang, locale_dirs)
        if not catalogs:
            summary["skipped"][lang] = f"no catalog of the DOMAINS under {locale_dir / lang / 'LC_MESSAGES'}"
            print(f"skip {lang}: {summary['skipped'][lang]}", file=sys.stderr)
            continue
        pool = candidates(lang, catalogs)
        chosen = acc.pick(pool, per_lang)
        renderer = LineRenderer(preset=preset, langs=(lang,), fonts="val")
        folder = images / lang
        folder.mkdir(parents=True, exist_ok=True)
        records: list[ManifestRecord] = []
        per_lang_records.append(records)
        for n, line in enumerate(chosen):
            rng = np.random.default_rng([seed, int.from_bytes(line.digest[:8], "big")])
            sample = renderer.render(line.text, rng)
            path = folder / f"{n:03d}.png"
            Image.fromarray(acc.natural_height(sample.image)).save(path)
            font = sample.source.rsplit(":", 1)[-1]
            extra = {"lang": lang, "domain": line.domain, "font": font, "script": SCRIPT_OF[lang]}
            records.append(ManifestRecord(image=path, kind="crop", text=line.text, extra=extra))
        summary["langs"][lang] = {"domains": [d for d, _ in catalogs], "candidates": len(pool), "lines": len(chosen)}
        print(f"{lang}: {len(chosen)} of {len(pool)} candidate lines from {len(catalogs)} catalogs", file=sys.stderr)
    interleaved = [r for group in zip_longest(*per_lang_records) for r in group if r is not None]
    write_manifest(out / "manifest.jsonl", interleaved)
    atomic_write_text(out / "sources.json", json.dumps(summary, indent=1, ensure_ascii=False) + "\n")
    return summary


def build_val(out: Path, scripts: Sequence[str], count: int, seed: int) -> list[Path]:
    """``count`` synthetic lines per script from the dictionaries in the training fonts (another seed than
    training's streams): what ``textlens train rec --val`` watches."""
    from textlens.data.manifest import ManifestWriter
    from textlens.data.synth.lines import LineRenderer, iter_generate

    written = []
    langs_of = {"deva": ("hi", "mr", "ne"), "hangul": ("ko",)}
    for script in scripts:
        folder = out / f"val-{script}"
        renderer = LineRenderer(preset="mixed", langs=langs_of[script], fonts="train", height=32, seed=seed)
        with ManifestWriter(folder) as writer:
            for sample in iter_generate(renderer, count, seed=seed):
                writer.add(sample)
        written.append(folder / "manifest.jsonl")
        print(f"{script}: {count} validation lines in {folder / 'manifest.jsonl'}", file=sys.stderr)
    return written


def score(predictions: Path) -> dict[str, float]:
    """CER over NFC code points and over grapheme clusters of a JSON-lines file with ``text`` and ``pred``."""
    from textlens.data.synth.scripts import cluster_edit_rate

    pairs = []
    for line in predictions.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            pairs.append((str(row["text"]), str(row["pred"])))
    cp, gc = cluster_edit_rate(pairs)
    return {"lines": len(pairs), "cer_code_points": cp, "cer_grapheme_clusters": gc}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default runs/script-lines)")
    parser.add_argument("--langs", default=",".join(LANGS), help="comma list of hi, mr, ne, ko")
    parser.add_argument("--per-lang", type=int, default=60, help="lines per language (default 60)")
    parser.add_argument("--seed", type=int, default=0, help="rendering seed, mixed with each line's hash")
    parser.add_argument("--locale-dir", type=Path, default=LOCALE_DIR, help="where the catalogs are installed")
    parser.add_argument("--download", action="store_true", help="fetch the packages of missing catalogs")
    parser.add_argument("--val", type=int, default=0, help="also write N synthetic validation lines per script")
    parser.add_argument("--scripts", default="deva,hangul", help="scripts of --val (deva, hangul)")
    parser.add_argument("--only-val", action="store_true", help="write the validation lines only")
    parser.add_argument("--score", type=Path, help="print both CERs of a predictions JSON-lines file and stop")
    args = parser.parse_args(argv)
    if args.score:
        print(json.dumps(score(args.score)))
        return 0
    langs = [lang for lang in args.langs.split(",") if lang]
    unknown = [lang for lang in langs if lang not in SCRIPT_OF]
    if unknown:
        parser.error(f"unknown language(s) {unknown}: use {', '.join(LANGS)}")
    if not args.only_val:
        summary = build(args.out, langs, args.per_lang, args.seed, args.locale_dir, args.download)
        n = sum(v["lines"] for v in summary["langs"].values())
        print(f"{n} lines in {len(summary['langs'])} languages written to {args.out / 'manifest.jsonl'}")
    if args.val:
        build_val(args.out, [s for s in args.scripts.split(",") if s], args.val, args.seed + 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
