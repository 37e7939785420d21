"""Write output files atomically: readers see the old file or the complete new one, never half of it.

Data goes to a temporary file in the destination folder (same filesystem, so the final rename is
atomic), is flushed to disk, then renamed over the destination. On failure the temporary file is
removed and the destination is left untouched. Failures raise ``OutputError`` naming the path.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

from textlens.errors import OutputError


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Store ``data`` at ``path`` atomically; returns the path."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Store ``text`` at ``path`` atomically (newlines are written as given); returns the path."""
    return atomic_write_bytes(path, text.encode(encoding))


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path next to ``path`` for writers needing a file name; renamed onto ``path`` on success.

    The temporary name keeps ``path``'s extension, so writers that pick the format from it
    (Pillow, OpenCV) work. It is removed if the block raises.
    """
    target = Path(path)
    tmp = _create_temp(target)
    try:
        yield tmp
        _fsync(tmp)
        _copy_mode(target, tmp)
        os.replace(tmp, target)
    except OSError as e:
        _remove(tmp)
        raise OutputError(f"cannot write the file: {e.strerror or e}", source=target) from e
    except BaseException:
        _remove(tmp)
        raise


def _create_temp(target: Path) -> Path:
    """Create an empty, hidden, uniquely named file in ``target``'s folder.

    ``os.open`` with mode 0o666 lets the umask set the permissions, as for any new file
    (``tempfile.mkstemp`` would make it owner-only, and the rename would keep that).
    """
    for _ in range(100):
        tmp = target.with_name(f".{target.stem}.{secrets.token_hex(4)}.tmp{target.suffix}")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        except OSError as e:
            raise OutputError(f"cannot write the file: {e.strerror or e}", source=target) from e
        return tmp
    raise OutputError("cannot create a temporary file next to it", source=target)


def _fsync(tmp: Path) -> None:
    """Flush the written bytes to disk so a crash after the rename cannot leave an empty file."""
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_mode(target: Path, tmp: Path) -> None:
    """Keep the permissions of the file being replaced."""
    with contextlib.suppress(FileNotFoundError):
        os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))


def _remove(tmp: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(tmp)
