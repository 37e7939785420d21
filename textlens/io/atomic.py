"""Write output files atomically: readers see the old file or the complete new one, never half of it.

Data goes to a temporary file in the destination folder (same filesystem, so the final rename is
atomic), is flushed to disk, then renamed over the destination. On failure the temporary file is
removed and the destination is left untouched. Failures raise ``OutputError`` naming the path.

Only regular files are replaced by a rename. A destination that is a symbolic link is followed and
its target replaced atomically (the link stays); a FIFO, character device or socket is written
through (the data is staged in an anonymous temporary file first, so a failure sends nothing); ``-``
is standard output. Temporary names are short (``.textlens-<pid>-<random>.tmp<ext>``), so a long file
name never grows past the file system's limit, and carry the writer's process id, so a later run can
remove those a killed process left behind (``remove_stale_temporaries``) without touching the
temporaries of a run still going on.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from textlens.errors import OutputError

#: ``-o -``: the output goes to standard output.
STDOUT = "-"
TEMP_PREFIX = ".textlens-"
_TEMP_NAME = re.compile(r"^\.textlens-(\d+)-[0-9a-f]{8}\.tmp(\.[^/]*)?$")


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
    """A temporary path for writers needing a file name; moved onto ``path`` when the block succeeds.

    The temporary name keeps ``path``'s extension, so writers that pick the format from it
    (Pillow, OpenCV) work. It is removed if the block raises.
    """
    pending = PendingFile(path)
    try:
        yield pending.tmp
    except OSError as e:
        pending.discard()
        raise OutputError(f"cannot write the file: {e.strerror or e}", source=pending.target) from e
    except BaseException:
        pending.discard()
        raise
    pending.commit()


class PendingFile:
    """An output being written: ``tmp`` now, moved (or copied, for special files) onto ``target`` by
    ``commit()``; ``discard()`` removes it. For writers that fill a file over a long time (page by page)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.target = Path(path)
        self._through: Path | None = None  # a FIFO or device written through, or None for stdout
        self._to_stdout = str(path) == STDOUT
        destination = self._resolve()
        if self._to_stdout or self._through is not None:
            self.tmp = _anonymous_temp(self.target)
        else:
            self.tmp = _create_temp(destination)
        self._destination = destination

    def _resolve(self) -> Path:
        """Where the bytes finally go: the link's target for a symlink; notes special files."""
        if self._to_stdout:
            return self.target
        try:
            st = os.stat(self.target)  # follows symbolic links
        except FileNotFoundError:
            st = None
        except OSError as e:
            raise OutputError(f"cannot write the file: {e.strerror or e}", source=self.target) from e
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise OutputError("is a folder, not a file", source=self.target)
        if st is not None and not stat.S_ISREG(st.st_mode):
            self._through = self.target
        # A dangling link is followed too: the file is created where it points.
        return Path(os.path.realpath(self.target)) if self.target.is_symlink() else self.target

    def commit(self) -> Path:
        """Put the written file in place; returns the destination."""
        try:
            if self._to_stdout:
                _copy_into(self.tmp, sys.stdout.buffer)
            elif self._through is not None:
                with open(self._through, "wb") as out:  # O_TRUNC is harmless on a FIFO or device
                    _copy_into(self.tmp, out)
            else:
                _fsync(self.tmp)
                _copy_mode(self._destination, self.tmp)
                os.replace(self.tmp, self._destination)
        except OSError as e:
            self.discard()
            raise OutputError(f"cannot write the file: {e.strerror or e}", source=self.target) from e
        self.discard()
        return self._destination

    def discard(self) -> None:
        _remove(self.tmp)


def remove_stale_temporaries(folder: str | os.PathLike[str]) -> list[Path]:
    """Delete our temporary files in ``folder`` whose writing process is gone (killed mid-write)."""
    removed: list[Path] = []
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            match = _TEMP_NAME.match(entry.name)
            if match and entry.is_file(follow_symlinks=False) and not _process_alive(int(match.group(1))):
                _remove(Path(entry.path))
                removed.append(Path(entry.path))
    return removed


def is_temporary(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is named like one of our temporary files (never an input)."""
    return bool(_TEMP_NAME.match(Path(path).name))


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def _create_temp(target: Path) -> Path:
    """Create an empty, hidden, uniquely named file in ``target``'s folder.

    ``os.open`` with mode 0o666 lets the umask set the permissions, as for any new file
    (``tempfile.mkstemp`` would make it owner-only, and the rename would keep that).
    """
    suffix = target.suffix if len(target.suffix) <= 16 else ""
    for _ in range(100):
        tmp = target.with_name(f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}.tmp{suffix}")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        except OSError as e:
            raise OutputError(f"cannot write the file: {e.strerror or e}", source=target) from e
        return tmp
    raise OutputError("cannot create a temporary file next to it", source=target)


def _anonymous_temp(target: Path) -> Path:
    """A private temporary file in the system's temporary folder, for outputs that are not regular files."""
    try:
        fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=f".tmp{target.suffix[:16]}")
    except OSError as e:
        raise OutputError(f"cannot create a temporary file: {e.strerror or e}", source=target) from e
    os.close(fd)
    return Path(name)


def _copy_into(tmp: Path, out: IO[bytes]) -> None:
    with open(tmp, "rb") as src:
        shutil.copyfileobj(src, out)
    out.flush()


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
