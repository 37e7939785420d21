"""What every extractor shares: the Field and Extraction values, and the registry of extractors by task name."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from textlens.document import Box, Document, Word
from textlens.errors import ConfigError

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Field:
    """One extracted field: its normalised value, the string as printed (``raw``), a confidence in [0, 1] and the
    boxes of the words it came from (page pixels, ``(x0, y0, x1, y1)``).

    ``value`` is the form a program wants (an ISO 8601 date, a decimal amount, an ISO 4217 currency code; for
    free text it equals ``raw``); ``raw`` is what the page says, and what the SROIE-style metrics compare.
    A field that was not found has ``value`` and ``raw`` None, confidence 0 and no boxes.
    """

    name: str
    value: str | None = None
    raw: str | None = None
    confidence: float = 0.0
    boxes: tuple[Box, ...] = ()
    page: int = 0

    @property
    def found(self) -> bool:
        return self.raw is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "raw": self.raw,
            "confidence": round(float(self.confidence), 4),
            "page": self.page,
            "boxes": [[round(float(v), 2) for v in box] for box in self.boxes],
        }

    @classmethod
    def from_dict(cls, name: str, data: dict[str, Any]) -> Field:
        return cls(
            name=name,
            value=data.get("value"),
            raw=data.get("raw"),
            confidence=float(data.get("confidence", 0.0)),
            boxes=tuple(tuple(float(v) for v in b) for b in data.get("boxes", [])),  # type: ignore[misc]
            page=int(data.get("page", 0)),
        )


def field_from_words(
    name: str,
    words: Iterable[Word],
    value: str | None = None,
    raw: str | None = None,
    confidence: float | None = None,
    page: int = 0,
) -> Field:
    """A Field made of words: raw is their text joined by spaces unless given; confidence their mean unless given."""
    words = list(words)
    text = " ".join(w.text for w in words) if raw is None else raw
    if confidence is None:
        confidence = sum(w.confidence for w in words) / len(words) if words else 0.0
    return Field(name, text if value is None else value, text, confidence, tuple(w.box for w in words), page)


@dataclass(frozen=True)
class Extraction:
    """The fields of one document for one task, in the task's field order."""

    task: str
    fields: dict[str, Field]
    source: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def raw(self) -> dict[str, str]:
        """Field name → the string as printed ("" when not found): what the key-information metrics score."""
        return {name: f.raw or "" for name, f in self.fields.items()}

    def values(self) -> dict[str, str | None]:
        """Field name → normalised value (None when not found)."""
        return {name: f.value for name, f in self.fields.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "task": self.task,
            "source": self.source,
            "fields": {name: f.to_dict() for name, f in self.fields.items()},
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Extraction:
        if not isinstance(data, dict) or "fields" not in data or "task" not in data:
            raise ConfigError("an extraction dict needs 'task' and 'fields'")
        fields = {name: Field.from_dict(name, f) for name, f in data["fields"].items()}
        return cls(str(data["task"]), fields, data.get("source"), dict(data.get("metadata", {})))


class Extractor(Protocol):
    """Turns a read Document into an Extraction for one task."""

    task: str
    fields: tuple[str, ...]

    def extract(self, document: Document) -> Extraction: ...


# task name → "module:factory"; factories take keyword options and return an Extractor. Modules load lazily so
# that importing textlens.extract stays cheap.
_REGISTRY: dict[str, str | Callable[..., Extractor]] = {
    "receipt": "textlens.extract.receipt:ReceiptExtractor",
    "card": "textlens.extract.card:CardExtractor",
    "form": "textlens.extract.form:FormExtractor",
    "plate": "textlens.extract.plate:PlateExtractor",
}


def register_extractor(task: str, factory: str | Callable[..., Extractor]) -> None:
    """Register (or replace) the extractor of ``task``: a callable or a ``"module:attribute"`` path to one."""
    _REGISTRY[task] = factory


def list_tasks() -> list[str]:
    return sorted(_REGISTRY)


def get_extractor(task: str, **options: Any) -> Extractor:
    """The extractor of ``task``, built with ``options`` (a ``ConfigError`` names the known tasks otherwise)."""
    if task not in _REGISTRY:
        raise ConfigError(f"unknown extraction task {task!r} (one of {', '.join(list_tasks())})")
    factory = _REGISTRY[task]
    if isinstance(factory, str):
        module, _, attr = factory.partition(":")
        factory = getattr(importlib.import_module(module), attr)
    return factory(**options)


def read_labelled_records(manifest: Path, is_complete: Callable[[Any], bool], requirement: str) -> list[dict[str, Any]]:
    """The JSON objects of a JSONL manifest, each checked by ``is_complete``; a bad line is an AnnotationError
    naming the file, the line and ``requirement``."""
    import json

    from textlens.errors import AnnotationError, FileNotFound

    if not manifest.is_file():
        raise FileNotFound("no such manifest", manifest)
    records = []
    for number, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AnnotationError(f"{manifest}:{number}: not JSON ({exc.msg})") from exc
        if not isinstance(record, dict) or not is_complete(record):
            raise AnnotationError(f"{manifest}:{number}: {requirement}")
        records.append(record)
    return records
