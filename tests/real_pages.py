"""Real printed pages for the tests of the outputs against their consumers (pdftotext, pdfminer, hocr-tools,
OCRmyPDF): a manual page typeset by groff, or a page of a PDF manual a Debian package installs. Nothing here
is made by textlens; a test that needs a page skips when the machine has none of them."""

from __future__ import annotations

import functools
import gzip
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from textlens.document import Document

# Manual pages typeset to PDF when groff is installed (coreutils' ls(1) is on every Debian system with man
# pages), then PDF manuals shipped under /usr/share/doc.
MAN_PAGES = ("/usr/share/man/man1/ls.1.gz", "/usr/share/man/man1/cp.1.gz")
DOC_PDFS = ("/usr/share/doc/libtasn1-doc/libtasn1.pdf", "/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf")


def manual_pdf(folder: Path) -> Path:
    """A real, born-digital PDF of a few pages: a groff-typeset manual page, or an installed PDF manual."""
    groff = shutil.which("groff")
    for source in map(Path, MAN_PAGES):
        if groff and source.is_file():
            target = folder / f"{source.name.split('.')[0]}.pdf"
            roff = gzip.decompress(source.read_bytes())
            cmd = [groff, "-K", "utf8", "-t", "-man", "-Tpdf", "-dpaper=a4", "-P-pa4"]
            done = subprocess.run(cmd, input=roff, capture_output=True, timeout=60)
            if done.returncode == 0 and done.stdout.startswith(b"%PDF"):
                target.write_bytes(done.stdout)
                return target
    for path in map(Path, DOC_PDFS):
        if path.is_file():
            return path
    pytest.skip("no real PDF page here: install groff (with man pages) or libtasn1-doc")


def image_only_pdf(source: Path, target: Path, pages: list[int], dpi: int = 200) -> list[np.ndarray]:
    """``pages`` (0-based) of ``source`` rasterised and stored as an image-only PDF (a scan, as OCRmyPDF
    expects); returns the page images."""
    from PIL import Image

    from textlens.io import iter_pages

    images = [p.image for p in iter_pages(str(source), dpi=dpi, pages=pages)]
    pictures = [Image.fromarray(image) for image in images]
    pictures[0].save(target, "PDF", resolution=dpi, save_all=True, append_images=pictures[1:])
    return images


@functools.lru_cache(maxsize=1)
def read_manual_page() -> tuple[Document, np.ndarray]:
    """The first page of a real manual rasterised at 200 dpi and read by textlens (once per test session):
    the Document and the page image."""
    from textlens import OCR
    from textlens.io import iter_pages

    with tempfile.TemporaryDirectory() as folder:
        page = next(iter(iter_pages(str(manual_pdf(Path(folder))), dpi=200, pages=[0])))
    document = OCR(threads=1).read_pages([page])
    assert len(document.pages[0].words) > 80  # a page of running text, read
    return document, page.image
