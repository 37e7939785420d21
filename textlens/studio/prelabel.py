"""Pre-labels: the bundled models read each page once, in a background thread, and the words are cached on disk.

The page a person opens jumps the queue; the others follow in name order, so the next page is usually ready
before it is opened. The cache (``DIR/.textlens-studio/prelabels/``) is keyed by the image's name, size and
modification time, so an edited image is read again and a restart reads nothing twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from textlens.errors import TextlensError
from textlens.io.atomic import atomic_write_text
from textlens.io.limits import MIN_SIDE, check_options, check_size
from textlens.studio.paths import STATE_DIR

log = logging.getLogger(__name__)

#: ``image (RGB uint8) -> words``: each word ``{"text", "box", "poly"?, "confidence"}``.
Reader = Callable[[np.ndarray], list[dict[str, Any]]]


def default_reader(threads: int | None = None) -> Reader:
    """The bundled detector and recogniser (``textlens.OCR``), as manifest words with their confidence."""
    from textlens.pipeline import OCR

    ocr = OCR(threads=threads)

    def read(image: np.ndarray) -> list[dict[str, Any]]:
        page = ocr.read_page(image)
        words = []
        for word in page.words:
            out: dict[str, Any] = {"text": word.text, "box": [round(v, 2) for v in word.box]}
            if word.polygon is not None:
                out["poly"] = [[round(x, 2), round(y, 2)] for x, y in word.polygon]
            out["confidence"] = round(float(word.confidence), 4)
            out["checked"] = False
            words.append(out)
        return words

    return read


def load_page_image(path: Path, max_pixels: int) -> np.ndarray:
    """The page's pixels as the trainer sees them (``read_rgb``: no EXIF turn), refused past ``max_pixels``."""
    limits = check_options(dpi=200, max_pixels=max_pixels, first_page_only=True, min_side=MIN_SIDE)
    try:
        with Image.open(path) as im:
            check_size(im.width, im.height, str(path), limits)
            return np.asarray(im.convert("RGB"))
    except OSError as exc:
        raise TextlensError(f"cannot decode the image ({exc})", path) from exc


class Prelabeler:
    """Reads pages in a background thread; ``get`` answers at once from the cache or says the page is queued."""

    def __init__(self, root: Path, names: list[str], reader_factory: Callable[[], Reader], max_pixels: int) -> None:
        self.root = root
        self.cache_dir = root / STATE_DIR / "prelabels"
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.reader_factory = reader_factory
        self.max_pixels = max_pixels
        self._queue: list[str] = list(names)
        self._errors: dict[str, str] = {}
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="textlens-studio-prelabels", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self, timeout: float = 30.0) -> None:
        """Stop after the page being read (if any)."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def add(self, name: str) -> None:
        with self._cond:
            if name not in self._queue:
                self._queue.append(name)
                self._cond.notify_all()

    def get(self, name: str) -> dict[str, Any]:
        """``{"status": "ready", "words": [...]}``, ``{"status": "pending"}`` (now first in line) or ``"failed"``."""
        cached = self._read_cache(name)
        if cached is not None:
            return {"status": "ready", "words": cached}
        with self._cond:
            if name in self._errors:
                return {"status": "failed", "message": self._errors[name]}
            if name in self._queue:
                self._queue.remove(name)
            self._queue.insert(0, name)
            self._cond.notify_all()
        return {"status": "pending"}

    def _key(self, name: str) -> Path | None:
        try:
            st = (self.root / name).stat()
        except OSError:
            return None
        digest = hashlib.sha1(f"{name}\0{st.st_size}\0{st.st_mtime_ns}".encode()).hexdigest()[:24]
        return self.cache_dir / f"{digest}.json"

    def _read_cache(self, name: str) -> list[dict[str, Any]] | None:
        key = self._key(name)
        if key is None or not key.is_file():
            return None
        try:
            words = json.loads(key.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return words if isinstance(words, list) else None

    def _run(self) -> None:
        reader: Reader | None = None
        while True:
            with self._cond:
                while not self._stop and not self._queue:
                    self._cond.wait()
                if self._stop:
                    return
                name = self._queue.pop(0)
            if self._read_cache(name) is not None:
                continue
            try:
                reader = reader or self.reader_factory()
                words = reader(load_page_image(self.root / name, self.max_pixels))
                key = self._key(name)
                if key is not None:
                    atomic_write_text(key, json.dumps(words, ensure_ascii=False))
            except Exception as exc:  # one bad page must not stop the others being read
                log.warning("pre-labels for %s failed: %s", name, exc)
                with self._cond:
                    self._errors[name] = str(exc)
