"""The documents of a batch: folders, globs and manifests (text files of paths) expanded to a list of paths, and
each document's bytes. A path with a scheme (``s3://``, ``gs://``, ``memory://``) goes through fsspec, when it is
installed; everything else is a local path."""

from __future__ import annotations

import glob
from collections.abc import Iterable
from pathlib import Path

from textlens.errors import ConfigError, FileNotFound, NotAFile, UnreadableFile

#: Files of these suffixes given as inputs are manifests: one path per line (``#`` starts a comment; a relative
#: path is relative to the manifest's folder).
MANIFEST_SUFFIXES = (".txt", ".lst")


def is_url(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def _fsspec_filesystem(url: str):  # type: ignore[no-untyped-def]
    try:
        import fsspec
    except ImportError as exc:
        raise ConfigError(f"{url}: reading URLs needs fsspec (pip install fsspec, and its s3fs/gcsfs)") from exc
    try:
        fs, _ = fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise ConfigError(f"{url}: fsspec cannot open this kind of URL ({exc})") from exc
    return fs


def list_inputs(inputs: Iterable[str]) -> list[str]:
    """Every document named by ``inputs``, in order, each once. Folders are searched recursively for the formats
    ``textlens read`` reads (hidden files skipped), globs expanded, manifests read. A path that matches nothing
    is kept, so the batch reports it as missing by name instead of skipping it."""
    from textlens.cli.common import expand_inputs

    found: list[str] = []
    for item in inputs:
        if is_url(item):
            found.extend(_list_url(item))
        elif item.lower().endswith(MANIFEST_SUFFIXES) and Path(item).is_file():
            found.extend(_read_manifest(Path(item)))
        else:
            found.extend(str(p) for p in expand_inputs([item]))
    return list(dict.fromkeys(found))


def _read_manifest(manifest: Path) -> list[str]:
    paths = []
    try:
        lines = manifest.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{manifest}: cannot read the manifest ({exc})") from exc
    for line in lines:
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        if is_url(entry) or Path(entry).is_absolute():
            paths.append(entry)
        else:
            paths.append(str(manifest.parent / entry))
    return paths


def _list_url(url: str) -> list[str]:
    from textlens.cli.common import INPUT_EXTENSIONS

    fs = _fsspec_filesystem(url)
    if glob.has_magic(url):
        names = sorted(fs.glob(url))
    elif fs.isdir(url):
        names = sorted(n for n in fs.find(url) if Path(n).suffix.lower() in INPUT_EXTENSIONS)
    else:
        return [url]
    return [fs.unstrip_protocol(n) for n in names] or [url]


def read_input(path: str) -> bytes:
    """The bytes of one document; a missing or unreadable one raises an ``InputError`` naming it."""
    if is_url(path):
        fs = _fsspec_filesystem(path)
        try:
            with fs.open(path, "rb") as f:
                return f.read()
        except FileNotFoundError as exc:
            raise FileNotFound("no such file", source=path) from exc
        except (OSError, ValueError) as exc:
            raise UnreadableFile(f"cannot read it ({exc})", source=path) from exc
    local = Path(path)
    if not local.exists():
        raise FileNotFound("no such file", source=path)
    if not local.is_file():
        raise NotAFile("not a file (a folder with no document, or a device)", source=path)
    try:
        return local.read_bytes()
    except OSError as exc:
        raise UnreadableFile(f"cannot read it ({exc.strerror or exc})", source=path) from exc
