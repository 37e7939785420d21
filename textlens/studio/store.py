"""The annotations of a studio folder: ``DIR/manifest.jsonl`` plus each page's version and undo history.

``manifest.jsonl`` is the manifest the trainer and ``textlens eval page`` read (``textlens/data/manifest.py``):
one page record per annotated page, ``{"image": "p.png", "words": [{"text", "box", "poly", "ignore"}]}``. Each
record also carries ``"version"`` (the page's edit count, for optimistic concurrency) and each word ``"checked"``
(a person accepted it) and ``"confidence"`` (the pre-label's); the readers keep such extra keys and ignore them.
Lines the studio does not edit (crops, labels, pages whose image lies outside the folder) are kept as they were.

Every save rewrites the manifest atomically (temporary file, fsync, rename) before it is acknowledged, so a
process killed at any moment leaves the last acknowledged state or a later one, never a torn file. Each page's
undo history lives in ``DIR/.textlens-studio/history/`` (an append-only log per page, written before the
manifest), so undo works across restarts.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textlens.errors import AnnotationError
from textlens.io.atomic import atomic_write_text, remove_stale_temporaries
from textlens.studio.paths import STATE_DIR, find_images, resolve_inside

MANIFEST_NAME = "manifest.jsonl"
#: States kept per page for undo; older ones are dropped.
HISTORY_LIMIT = 500
_WORD_FIELDS = ("text", "box", "poly", "ignore", "checked", "confidence")


class Conflict(Exception):
    """A write based on a version that is no longer the page's current one."""

    def __init__(self, current: PageState) -> None:
        super().__init__(f"the page is at version {current.version}")
        self.current = current


@dataclass(frozen=True)
class PageState:
    """One page as saved: its version (0 = never saved) and its words as manifest JSON objects."""

    image: str
    version: int
    words: list[dict[str, Any]]
    can_undo: bool = False
    can_redo: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "version": self.version,
            "words": self.words,
            "can_undo": self.can_undo,
            "can_redo": self.can_redo,
        }


def clean_words(raw: Any, where: str) -> list[dict[str, Any]]:
    """Check words sent by a client and keep only the manifest's fields, with numbers as numbers."""
    if not isinstance(raw, list):
        raise AnnotationError(f"{where}: 'words' must be a list")
    words = []
    for i, word in enumerate(raw):
        at = f"{where} word {i}"
        if not isinstance(word, dict) or not isinstance(word.get("text"), str):
            raise AnnotationError(f"{at}: a word needs a 'text' string")
        box = word.get("box")
        if not isinstance(box, list) or len(box) != 4 or not all(isinstance(v, int | float) for v in box):
            raise AnnotationError(f"{at}: 'box' must be [x0, y0, x1, y1]")
        x0, y0, x1, y1 = (round(float(v), 2) for v in box)
        if x1 < x0 or y1 < y0:
            raise AnnotationError(f"{at}: box {box} has x1 < x0 or y1 < y0")
        out: dict[str, Any] = {"text": word["text"], "box": [x0, y0, x1, y1]}
        poly = word.get("poly")
        if poly is not None:
            if not isinstance(poly, list) or len(poly) < 3 or not all(_is_point(p) for p in poly):
                raise AnnotationError(f"{at}: 'poly' must be a list of at least 3 [x, y] points")
            out["poly"] = [[round(float(p[0]), 2), round(float(p[1]), 2)] for p in poly]
        if word.get("ignore"):
            out["ignore"] = True
        out["checked"] = bool(word.get("checked", False))
        confidence = word.get("confidence")
        if isinstance(confidence, int | float):
            out["confidence"] = round(float(confidence), 4)
        words.append(out)
    return words


def _is_point(p: Any) -> bool:
    return isinstance(p, list) and len(p) == 2 and all(isinstance(v, int | float) for v in p)


class HistoryLog:
    """One page's undo history: its states in memory, and on disk an append-only JSON-lines log replayed on start.

    Entries: ``reset`` (the whole list of states), ``save`` (drop the states after ``cut`` - 1, append one) and
    ``move`` (undo or redo: state ``at`` becomes current under a new version). Each commit gives its new version to
    exactly one state, so the manifest's version says which state is current. Appending costs one state, not the
    whole history; a line torn by a kill is dropped on replay and the log rewritten.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.states: list[dict[str, Any]] = []
        self.entries = 0
        torn = False
        try:
            lines = path.read_text(encoding="utf-8").split("\n")
        except (OSError, UnicodeDecodeError):
            lines = []
        for line in lines[:-1] if lines else []:
            try:
                self._apply(json.loads(line))
            except (ValueError, KeyError, TypeError, IndexError):
                torn = True
                break
        if torn or (lines and lines[-1].strip()):
            self.reset(self.states)

    def _apply(self, entry: dict[str, Any]) -> None:
        op = entry["op"]
        if op == "reset":
            self.states = list(entry["states"])
        elif op == "save":
            self.states = [*self.states[: entry["cut"]], {"version": entry["version"], "words": entry["words"]}]
        elif op == "move":
            self.states[entry["at"]] = {"version": entry["version"], "words": self.states[entry["at"]]["words"]}
        else:
            raise ValueError(op)
        self.entries += 1

    def position(self, version: int) -> int | None:
        return next((i for i in reversed(range(len(self.states))) if self.states[i]["version"] == version), None)

    def reset(self, states: list[dict[str, Any]]) -> None:
        self.states = list(states[-HISTORY_LIMIT:])
        self.entries = 1
        atomic_write_text(self.path, json.dumps({"op": "reset", "states": self.states}, ensure_ascii=False) + "\n")

    def record_save(self, cut: int, version: int, words: list[dict[str, Any]]) -> None:
        self._append({"op": "save", "cut": cut, "version": version, "words": words})

    def record_move(self, at: int, version: int) -> None:
        self._append({"op": "move", "at": at, "version": version})

    def _append(self, entry: dict[str, Any]) -> None:
        self._apply(entry)
        if len(self.states) > HISTORY_LIMIT or self.entries > 4 * HISTORY_LIMIT:
            self.reset(self.states)  # compact: one line holding the states kept
            return
        with open(self.path, "a", encoding="utf-8") as log:
            log.write(json.dumps(entry, ensure_ascii=False) + "\n")
            log.flush()
            os.fsync(log.fileno())


class PageStore:
    """The manifest and histories of one folder; every method is safe to call from several threads."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.manifest_path = self.root / MANIFEST_NAME
        self.state_dir = self.root / STATE_DIR
        self.history_dir = self.state_dir / "history"
        self.history_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(self.root)
        remove_stale_temporaries(self.history_dir)
        self._lock = threading.Lock()
        # The manifest's lines in file order: decoded objects; page records are found by their image name.
        self._lines: list[dict[str, Any]] = []
        self._pages: dict[str, int] = {}  # image name → index in _lines
        self._logs: dict[str, HistoryLog] = {}
        self._load_manifest()
        self.images = sorted(set(find_images(self.root)) | set(self._pages))

    def _load_manifest(self) -> None:
        if not self.manifest_path.is_file():
            return
        for lineno, line in enumerate(self.manifest_path.read_text(encoding="utf-8-sig").splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise AnnotationError(f"{self.manifest_path}:{lineno}: not valid JSON ({exc.msg})") from exc
            if not isinstance(obj, dict) or not isinstance(obj.get("image"), str):
                raise AnnotationError(f"{self.manifest_path}:{lineno}: each line must be an object with an 'image'")
            self._lines.append(obj)
            if isinstance(obj.get("words"), list):
                name = self._name_inside(obj["image"])
                if name is not None:
                    self._pages[name] = len(self._lines) - 1

    def _name_inside(self, image: str) -> str | None:
        """The studio's name for a manifest image path, or None when it lies outside the folder."""
        try:
            target = resolve_inside(self.root, Path(image).as_posix())
        except Exception:
            return None
        return target.relative_to(self.root).as_posix()

    # -- reading -------------------------------------------------------------------------------------------------

    def saved(self, name: str) -> PageState | None:
        """The page as saved in the manifest, or None when it has no record yet."""
        with self._lock:
            return self._saved(name)

    def _saved(self, name: str) -> PageState | None:
        index = self._pages.get(name)
        if index is None:
            return None
        record = self._lines[index]
        version = int(record.get("version", 0) or 0)
        words = [w for w in record["words"] if isinstance(w, dict)]
        log = self._log(name)
        at = log.position(version)
        if at is None:  # edited outside the studio: its history no longer leads here
            return PageState(name, version, words)
        return PageState(name, version, words, can_undo=at > 0, can_redo=at < len(log.states) - 1)

    def annotated(self) -> list[str]:
        with self._lock:
            return [n for n in self.images if n in self._pages]

    def records(self) -> list[dict[str, Any]]:
        """The page records of annotated pages (copies), in manifest order."""
        with self._lock:
            return [json.loads(json.dumps(self._lines[i])) for i in sorted(self._pages.values())]

    # -- writing -------------------------------------------------------------------------------------------------

    def save(
        self, name: str, base_version: int, words: list[dict[str, Any]], before: list[dict[str, Any]] | None = None
    ) -> PageState:
        """Store ``words`` as the page's new state if ``base_version`` is its current version (else ``Conflict``).

        ``before`` is what an unsaved page showed (its pre-labels): the first undo returns to it."""
        with self._lock:
            current = self._current(name)
            if base_version != current.version:
                raise Conflict(current)
            log = self._log(name)
            at = log.position(current.version)
            try:
                if at is None:  # the first save here: the state before it (pre-labels, an older manifest) is undoable
                    start = current.words if current.version else before or []
                    log.reset([{"version": current.version, "words": start}])
                    at = 0
                log.record_save(at + 1, current.version + 1, words)
                return self._commit(name, log, at + 1)
            except Exception:
                self._logs.pop(name, None)  # read it again from disk
                raise

    def step(self, name: str, base_version: int, direction: int) -> PageState:
        """Undo (``direction`` -1) or redo (+1): the page takes the words of a neighbouring state, as a new version."""
        with self._lock:
            current = self._current(name)
            if base_version != current.version:
                raise Conflict(current)
            log = self._log(name)
            at = log.position(current.version)
            if at is None or not 0 <= at + direction < len(log.states):
                raise AnnotationError(f"{name}: nothing to {'undo' if direction < 0 else 'redo'}")
            try:
                log.record_move(at + direction, current.version + 1)
                return self._commit(name, log, at + direction)
            except Exception:
                self._logs.pop(name, None)
                raise

    def _current(self, name: str) -> PageState:
        return self._saved(name) or PageState(name, 0, [])

    def _commit(self, name: str, log: HistoryLog, at: int) -> PageState:
        """Write the manifest with the page at state ``at`` of its (already written) history."""
        version, words = log.states[at]["version"], log.states[at]["words"]
        record = {"image": name, "words": words, "version": version}
        index = self._pages.get(name)
        old_lines = list(self._lines)
        if index is None:
            self._lines.append(record)
            self._pages[name] = len(self._lines) - 1
        else:
            kept = {k: v for k, v in self._lines[index].items() if k not in ("image", "words", "version")}
            self._lines[index] = {**record, **kept}
        try:
            self._write_manifest()
        except Exception:
            self._lines = old_lines
            if index is None:
                del self._pages[name]
            raise
        if name not in self.images:
            self.images = sorted([*self.images, name])
        return PageState(name, version, words, can_undo=at > 0, can_redo=at < len(log.states) - 1)

    def _write_manifest(self) -> None:
        text = "".join(json.dumps(obj, ensure_ascii=False) + "\n" for obj in self._lines)
        atomic_write_text(self.manifest_path, text)

    def _log(self, name: str) -> HistoryLog:
        log = self._logs.get(name)
        if log is None:
            path = self.history_dir / (hashlib.sha1(name.encode()).hexdigest()[:20] + ".jsonl")
            log = self._logs[name] = HistoryLog(path)
        return log

    def add_image(self, name: str) -> None:
        with self._lock:
            if name not in self.images:
                self.images = sorted([*self.images, name])
