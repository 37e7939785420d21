"""Paths a client names, resolved inside the studio's folder or refused.

A client only ever names files by their path relative to the folder (``scans/p1.png``). A name that is absolute,
climbs with ``..``, holds a NUL or a backslash, or resolves (through a symbolic link) outside the folder is
refused; the web layer answers 403 for those and 404 for names that stay inside but do not exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from textlens.errors import TextlensError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
#: The folder, inside DIR, holding the studio's own state (history, pre-label cache, reports).
STATE_DIR = ".textlens-studio"


class OutsideFolder(TextlensError):
    """A path that leaves the studio's folder."""


def resolve_inside(root: Path, name: str) -> Path:
    """The file ``name`` (relative, ``/``-separated) under ``root``, or ``OutsideFolder`` when it would leave it."""
    if not name or "\x00" in name or "\\" in name:
        raise OutsideFolder("not a relative file name", name)
    pure = PurePosixPath(name)
    if pure.is_absolute() or any(part in ("..", "") for part in pure.parts) or name.startswith("/"):
        raise OutsideFolder("paths must stay inside the folder", name)
    root = root.resolve()
    target = (root / pure).resolve()
    if target != root and root not in target.parents:
        raise OutsideFolder("the path leads outside the folder (symbolic link)", name)
    return target


def relative_name(root: Path, path: Path) -> str:
    """The ``/``-separated name of ``path`` under ``root`` (both resolved)."""
    return path.resolve().relative_to(root.resolve()).as_posix()


def find_files(root: Path, suffixes: Iterable[str]) -> list[str]:
    """The names of the files under ``root`` with one of ``suffixes`` (hidden folders and links leading outside
    skipped), sorted."""
    root, wanted = root.resolve(), frozenset(suffixes)
    found = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or path.suffix.lower() not in wanted:
            continue
        try:
            resolve_inside(root, rel.as_posix())
        except OutsideFolder:
            continue
        if path.is_file():
            found.append(rel.as_posix())
    return found


def find_images(root: Path) -> list[str]:
    """The names of the image files under ``root``, sorted (``find_files``)."""
    return find_files(root, IMAGE_SUFFIXES)
