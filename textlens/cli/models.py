"""``textlens models``: the bundled models (``textlens/models/weights/*``) and nothing else.

An architecture name (``crnn_base``) is not a model until it is trained: ``textlens models`` lists only folders
that hold a ``config.json`` and weights; ``textlens.list_models()`` lists the architectures (it needs torch).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from textlens.models.bundle import Bundle

# The card's headline: one line "**Headline:** ..." near the top of MODEL.md (kept when a bundle is rewritten).
HEADLINE = re.compile(r"^\*\*Headline:\*\*\s*(.+?)\s*$", re.MULTILINE)
LANGUAGES_SHOWN = 6


def headline(bundle: Bundle) -> str | None:
    """The card's headline metric, if its MODEL.md states one."""
    try:
        match = HEADLINE.search(bundle.card.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None
    return match.group(1) if match else None


def size_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def task(bundle: Bundle) -> str:
    """What it does, in a few words."""
    family = bundle.family or "?"
    if family == "glimpse":
        spec = bundle.config.get("task") or {}
        name = spec.get("name", "?") if isinstance(spec, dict) else str(spec)
        return f"glimpse ({name})"
    if family == "detection":
        method = (bundle.config.get("postprocess") or {}).get("method")
        return f"detection ({method} words)" if method else "detection"
    return family


def reads(bundle: Bundle) -> tuple[str, list[str]]:
    """What a model reads: a recogniser's charset size and the --lang languages it writes every letter of."""
    from textlens.languages import LANGUAGES

    if bundle.family == "recognition":
        charset = bundle.config.get("charset")
        if not isinstance(charset, str):
            return "?", []
        codes = [code for code, language in LANGUAGES.items() if not language.missing_letters(charset)]
        return f"{len(charset)} symbols", codes
    if bundle.family == "glimpse":
        return "digits 0-9", []
    if bundle.family == "digits":  # digits_cnn: handwritten 0-9; digits_deva: Devanagari numerals
        return f"{bundle.config.get('script', 'latin')} digits 0-9", []
    return "any script", []


def describe(bundle: Bundle) -> dict[str, Any]:
    """One bundle as ``textlens models --json`` prints it."""
    charset, languages = reads(bundle)
    return {
        "name": bundle.name,
        "task": task(bundle),
        "arch": bundle.arch,
        "default": bundle.is_default,
        "reads": charset,
        "languages": languages,
        "size_bytes": size_bytes(bundle.folder),
        "headline": headline(bundle),
        "needs_torch": not bundle.has_onnx,  # glimpse models run in torch; ONNX bundles on onnxruntime
        "folder": str(bundle.folder),
    }


def _languages(codes: list[str]) -> str:
    if not codes:
        return ""
    shown = ", ".join(codes[:LANGUAGES_SHOWN])
    return f"; --lang {shown}" + (f" +{len(codes) - LANGUAGES_SHOWN}" if len(codes) > LANGUAGES_SHOWN else "")


def models(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per model instead of the table.")] = False,
) -> None:
    """List the bundled models: name, task, what it reads, size, the card's headline, whether it needs torch.

    Use a name with --recognizer / --detector (or OCR(recognizer=...)); a folder of your own works the same way.
    """
    from textlens.models.bundle import list_bundles

    rows = [describe(b) for b in list_bundles()]
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    if not rows:
        typer.echo("no models are bundled")
        return
    table = [
        (
            r["name"] + (" *" if r["default"] else ""),
            r["task"],
            r["reads"] + _languages(r["languages"]),
            f"{r['size_bytes'] / 2**20:.1f} MiB",
            "torch" if r["needs_torch"] else "onnx",
            r["headline"] or "-",
        )
        for r in rows
    ]
    header = ("name", "task", "reads", "size", "runs on", "card headline")
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(len(header) - 1)]
    for row in [header, *table]:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1])
    typer.echo("* the default of its task; torch: needs the train extra (pip install 'textlens[train]')")
