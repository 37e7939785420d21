"""Build the clean-print page set: born-digital pages from Debian documents, ground truth from the PDF itself.

    python recipes/prepare_clean_print.py [--out runs/clean-print] [--seed 0] [--en 40] [--per-lang 10]

Documents (Debian 12 packages, fetched with ``apt-get download`` and unpacked with ``dpkg-deb -x`` under
``OUT/debs`` and ``OUT/src``, so nothing is installed and the pages do not depend on what a machine has):

- ``debian-reference-{en,es,it,pt}``: the Debian Reference as a PDF (DBLaTeX + xdvipdfmx) in
  ``/usr/share/debian-reference/``;
- manual page sources of ``manpages`` (English) and ``manpages-{es,it,pt-br,nl,ro}``, rendered to PDF with
  ``groff -K utf8 -t -man -Tpdf`` (A4; gropdf comes with the ``groff`` package).

Left out on purpose: ``debian-handbook`` and ``python3.11-doc`` ship HTML only (no HTML-to-PDF renderer
here), the PDF manuals installed packages ship in their ``/usr/share/doc`` folders, and French, German and
Polish manual pages: those are held-out data kept apart, and this recipe refuses to sample them.

A fixed, seeded sample of pages (``--en`` English pages, ``--per-lang`` for es/it/pt, half for nl/ro which
have manual pages only; about half Debian Reference and half manual pages; pages with fewer than
``--min-words`` words are skipped) is rendered with ``pdftoppm -r DPI -png`` for every ``--dpi``, and its
words are taken from ``pdftotext -bbox-layout`` (PDF points scaled to the pixels of each rendering).
Writes ``OUT/<dpi>/manifest.jsonl`` (images under ``OUT/<dpi>/images/``): each record carries ``lang``,
``doc`` (package), ``source`` (file inside the package), ``page`` (1-based) and ``dpi``; each word its
``line`` (the index of its ``<line>`` in pdftotext's output). Data stays under ``runs/`` and is never committed.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "runs" / "clean-print"
HELD_OUT_LANGS = frozenset({"fr", "de", "pl"})  # kept apart as independent held-out data: never sampled here
# language -> (debian-reference package or None, man-page package, its folder under usr/share/man)
LANGS: dict[str, tuple[str | None, str, str]] = {
    "en": ("debian-reference-en", "manpages", ""),
    "es": ("debian-reference-es", "manpages-es", "es"),
    "it": ("debian-reference-it", "manpages-it", "it"),
    "pt": ("debian-reference-pt", "manpages-pt-br", "pt_BR"),
    "nl": (None, "manpages-nl", "nl"),
    "ro": (None, "manpages-ro", "ro"),
}
LIGATURES = {chr(c): unicodedata.normalize("NFKC", chr(c)) for c in range(0xFB00, 0xFB07)}
XHTML = "{http://www.w3.org/1999/xhtml}"
LEADER_CHARS = frozenset(".·…")


@dataclass(frozen=True)
class PageRef:
    lang: str
    doc: str  # the Debian package
    source: str  # the file inside the package
    pdf: Path
    page: int  # 1-based


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, capture_output=True, **kw)


def fetch(package: str, out: Path) -> Path:
    """Download ``package`` (apt-get download, no root needed) and unpack it; returns the unpacked root."""
    root = out / "src" / package
    if (root / ".done").is_file():
        return root
    debs = out / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    found = sorted(debs.glob(f"{package}_*.deb"))
    if not found:
        run(["apt-get", "download", package], cwd=debs)
        found = sorted(debs.glob(f"{package}_*.deb"))
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    run(["dpkg-deb", "-x", str(found[-1]), str(root)])
    (root / ".done").write_text(found[-1].name + "\n")
    return root


def page_count(pdf: Path) -> int:
    info = run(["pdfinfo", str(pdf)], text=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def page_words(pdf: Path, page: int) -> tuple[float, float, list[dict]]:
    """(width, height) of the page in points and its words: text, box in points, line index."""
    xml = run(["pdftotext", "-bbox-layout", "-f", str(page), "-l", str(page), str(pdf), "-"]).stdout
    root = ET.fromstring(xml)
    page_el = root.find(f".//{XHTML}page")
    if page_el is None:
        return 0.0, 0.0, []
    words: list[dict] = []
    for n, line in enumerate(page_el.iter(f"{XHTML}line")):
        line_words = []
        for w in line.iter(f"{XHTML}word"):
            text = "".join(LIGATURES.get(ch, ch) for ch in (w.text or "")).strip()
            if not text:
                continue
            box = [float(w.get(k, 0)) for k in ("xMin", "yMin", "xMax", "yMax")]
            line_words.append({"text": text, "box": box, "line": n})
        words += mark_leaders(line_words)
    return float(page_el.get("width", 0)), float(page_el.get("height", 0)), words


def mark_leaders(words: list[dict]) -> list[dict]:
    """Dot leaders (a table of contents' runs of 3 or more words of dots) become don't-care words."""
    dots = [set(w["text"]) <= LEADER_CHARS for w in words]
    i = 0
    while i < len(words):
        j = i
        while j < len(words) and dots[j]:
            j += 1
        if j - i >= 3:
            for w in words[i:j]:
                w["ignore"] = True
        i = max(j, i + 1)
    return words


def render_man(source: Path, pdf: Path) -> bool:
    """One manual page source (gzipped roff) to an A4 PDF with groff; False when it is a stub or fails."""
    import gzip

    try:
        text = gzip.decompress(source.read_bytes()) if source.suffix == ".gz" else source.read_bytes()
    except OSError:
        return False
    if text.lstrip().startswith(b".so "):  # a link to another page
        return False
    pdf.parent.mkdir(parents=True, exist_ok=True)
    cmd = ["groff", "-K", "utf8", "-t", "-man", "-Tpdf", "-dpaper=a4", "-P-pa4"]
    proc = subprocess.run(cmd, input=text, capture_output=True, timeout=60)
    if proc.returncode != 0 or not proc.stdout.startswith(b"%PDF"):
        return False
    pdf.write_bytes(proc.stdout)
    return True


def _counted(words: list[dict]) -> int:
    return sum(not w.get("ignore") for w in words)


def sample_pages(out: Path, lang: str, count: int, rng: random.Random, min_words: int) -> list[PageRef]:
    if lang in HELD_OUT_LANGS:
        raise SystemExit(f"{lang}: French, German and Polish pages are held-out data and are not sampled here")
    ref_pkg, man_pkg, man_dir = LANGS[lang]
    picked: list[PageRef] = []
    n_ref = count // 2 if ref_pkg else 0
    if ref_pkg:
        root = fetch(ref_pkg, out)
        pdf = next((root / "usr/share/debian-reference").glob("debian-reference.*.pdf"))
        pages = list(range(1, page_count(pdf) + 1))
        rng.shuffle(pages)
        for p in pages:
            if len(picked) >= n_ref:
                break
            if _counted(page_words(pdf, p)[2]) >= min_words:
                picked.append(PageRef(lang, ref_pkg, str(pdf.relative_to(root)), pdf, p))
    root = fetch(man_pkg, out)
    man_root = root / "usr/share/man" / man_dir
    sources = sorted(p for p in man_root.glob("man*/*") if p.is_file())
    rng.shuffle(sources)
    for src in sources:
        if len(picked) >= count:
            break
        pdf = out / "pdf" / man_pkg / (src.name.removesuffix(".gz") + ".pdf")
        if not pdf.is_file() and not render_man(src, pdf):
            continue
        pages = list(range(1, page_count(pdf) + 1))
        p = rng.choice(pages)
        if _counted(page_words(pdf, p)[2]) >= min_words:
            picked.append(PageRef(lang, man_pkg, str(src.relative_to(root)), pdf, p))
    if len(picked) < count:
        print(f"warning: {lang}: only {len(picked)} of {count} pages found", file=sys.stderr)
    return picked


def write_dpi(out: Path, refs: list[PageRef], dpi: int) -> int:
    folder = out / str(dpi)
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    lines = []
    for i, ref in enumerate(refs):
        stem = f"{i:03d}-{ref.lang}-{Path(ref.source).name.split('.')[0]}-p{ref.page}"
        png = images / f"{stem}.png"
        if not png.is_file():
            tmp = images / f".{stem}"
            cmd = ["pdftoppm", "-r", str(dpi), "-png", "-f", str(ref.page), "-l", str(ref.page), "-singlefile"]
            run([*cmd, str(ref.pdf), str(tmp)])
            Path(f"{tmp}.png").replace(png)
        width_pt, height_pt, words = page_words(ref.pdf, ref.page)
        with Image.open(png) as im:
            sx, sy = im.width / width_pt, im.height / height_pt
        scaled = [
            {
                "text": w["text"],
                "box": [
                    round(w["box"][0] * sx, 1),
                    round(w["box"][1] * sy, 1),
                    round(w["box"][2] * sx, 1),
                    round(w["box"][3] * sy, 1),
                ],
                "line": w["line"],
                **({"ignore": True} if w.get("ignore") else {}),
            }
            for w in words
        ]
        record = {
            "image": f"images/{png.name}",
            "words": scaled,
            "lang": ref.lang,
            "doc": ref.doc,
            "source": ref.source,
            "page": ref.page,
            "dpi": dpi,
        }
        lines.append(json.dumps(record, ensure_ascii=False))
    manifest = folder / "manifest.jsonl"
    tmp = manifest.with_suffix(".jsonl.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(manifest)
    return len(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--en", type=int, default=40, help="English pages")
    parser.add_argument("--per-lang", type=int, default=10, help="pages for es/it/pt (half that for nl/ro)")
    parser.add_argument("--langs", default=",".join(LANGS), help=f"comma list of {', '.join(LANGS)}")
    parser.add_argument("--dpi", default="150,200,300", help="comma list of rendering resolutions")
    parser.add_argument("--min-words", type=int, default=30, help="skip pages with fewer words")
    args = parser.parse_args(argv)
    for tool in ("apt-get", "dpkg-deb", "pdftoppm", "pdftotext", "pdfinfo", "groff"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} not found (apt-get install poppler-utils groff)")
    langs = args.langs.split(",")
    for lang in langs:
        if lang in HELD_OUT_LANGS:
            parser.error(f"{lang}: French, German and Polish pages are held-out data, kept apart")
        if lang not in LANGS:
            parser.error(f"unknown language {lang!r} (known: {', '.join(LANGS)})")
    refs: list[PageRef] = []
    for lang in langs:
        count = args.en if lang == "en" else args.per_lang if LANGS[lang][0] else args.per_lang // 2
        rng = random.Random(f"{args.seed}-{lang}")  # per language, so one language's sample does not move another's
        refs += sample_pages(args.out, lang, count, rng, args.min_words)
        print(f"{lang}: {sum(r.lang == lang for r in refs)} pages", file=sys.stderr, flush=True)
    for dpi in (int(d) for d in args.dpi.split(",")):
        n = write_dpi(args.out, refs, dpi)
        print(f"{args.out / str(dpi) / 'manifest.jsonl'}: {n} pages at {dpi} dpi", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
