"""PDF files in a studio folder, rendered once into page images the studio shows and the manifest names.

Each page of ``DIR/a.pdf`` becomes ``DIR/.textlens-studio/pages/a-p<N>.png`` (N from 1), rendered at a fixed dpi
through the project's sandboxed PDF renderer (``textlens/io/pdf_pages.py``) under the pixel and page limits of
``textlens/io/limits.py``. A small stamp per PDF records its size and modification time, so pages are rendered
again only when the PDF changes. A PDF that cannot be read is reported by name and skipped.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image

from textlens.errors import TextlensError
from textlens.io.atomic import atomic_write_bytes, atomic_write_text, remove_stale_temporaries
from textlens.io.limits import MIN_SIDE, Limits
from textlens.io.pdf_pages import pdf_page_count, render_pdf_page
from textlens.studio.paths import STATE_DIR, find_files

#: Rendering resolution of PDF pages; fixed so boxes saved on a page stay valid for its image.
PDF_DPI = 200.0
PAGES_DIR = f"{STATE_DIR}/pages"


def find_pdfs(root: Path) -> list[str]:
    """The names of the PDF files under ``root``, sorted (``find_files``)."""
    return find_files(root, (".pdf",))


def render_pdf_pages(root: str | Path, max_pixels: int) -> tuple[list[str], list[str]]:
    """Render every PDF under ``root`` that changed since last time; its page image names and the problems met."""
    root = Path(root).resolve()
    pages_dir = root / PAGES_DIR
    names: list[str] = []
    problems: list[str] = []
    if pages_dir.is_dir():  # left by a render killed half-way
        remove_stale_temporaries(pages_dir)
    for pdf_name in find_pdfs(root):
        try:
            names += _render_one(root, pages_dir, pdf_name, max_pixels)
        except (TextlensError, OSError) as exc:
            problems.append(f"{pdf_name}: {exc}")
    return names, problems


def _render_one(root: Path, pages_dir: Path, pdf_name: str, max_pixels: int) -> list[str]:
    pdf_path = root / pdf_name
    # Subfolders are folded into the file name so that equal stems in different folders do not collide.
    stem = pdf_name[: -len(".pdf")].replace("/", "__")
    stat = pdf_path.stat()
    key = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "dpi": PDF_DPI, "max_pixels": max_pixels}
    stamp_path = pages_dir / f"{stem}.json"
    try:
        stamp = json.loads(stamp_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        stamp = None
    if isinstance(stamp, dict) and stamp.get("key") == key and isinstance(stamp.get("pages"), list):
        cached = [str(n) for n in stamp["pages"]]
        if all((root / n).is_file() for n in cached):
            return cached
    limits = Limits(dpi=PDF_DPI, max_pixels=max_pixels, min_side=MIN_SIDE, first_page_only=False)
    count = pdf_page_count(str(pdf_path), limits.pdf(), pdf_name)
    indices = limits.wanted(count, pdf_name)
    pages_dir.mkdir(parents=True, exist_ok=True)
    names = []
    for index in indices:
        pixels = render_pdf_page(str(pdf_path), index, count, limits.pdf(), pdf_name)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG")
        name = f"{PAGES_DIR}/{stem}-p{index + 1}.png"
        atomic_write_bytes(root / name, buffer.getvalue())
        names.append(name)
    atomic_write_text(stamp_path, json.dumps({"key": key, "pages": names}))
    return names
