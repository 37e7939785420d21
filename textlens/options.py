"""KEY=VALUE options, as typed after ``--opt`` (dataset readers) and ``--model-option`` (model builders) or inside
a training source spec (``synth:preset=scan,weight=2``): one parser, importable without torch or OpenCV."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from textlens.errors import ConfigError


def split_option(item: str, what: str = "an option") -> tuple[str, str]:
    """``"key = value"`` → ``("key", "value")``, both stripped; a ConfigError naming ``what`` (e.g. ``--opt``)
    when the item has no ``=`` or no key."""
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"{what} expects KEY=VALUE, got {item!r}")
    return key.strip(), value.strip()


def option_value(text: str) -> Any:
    """The value ``text`` spells: JSON where it parses (``3``, ``0.2``, ``[16, 32]``, ``true``), else a number
    Python reads (``.5``, ``1_000``), else the text itself (a bare word such as ``test`` or ``lstm``)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_options(pairs: Iterable[str], what: str = "--opt") -> dict[str, Any]:
    """``["split=test", "margin=0.2", "glimpse-channels=[16,32]"]`` →
    ``{"split": "test", "margin": 0.2, "glimpse_channels": [16, 32]}``: keyword arguments, so dashes in a key
    become underscores; a later pair overrides an earlier one with the same key."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, value = split_option(pair, what)
        options[key.replace("-", "_")] = option_value(value)
    return options
