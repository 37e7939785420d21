"""Finding bundled ONNX models and opening them as Detector / Recognizer objects."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from textlens.errors import MissingWeights
from textlens.runtime.base import Detector, Recognizer

WEIGHTS_ROOT = Path(__file__).resolve().parent.parent / "models" / "weights"

# config.json's "runtime" field names the class that runs the model: "module:Class".
DEFAULT_RUNTIMES = {
    "recognition": "textlens.runtime.recognizer:OnnxRecognizer",
    "detection": "textlens.runtime.detector:OnnxDetector",
}


def _model_dir(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if path.is_dir():
        return path
    if path.suffix == ".onnx" and path.is_file():
        return path.parent
    return WEIGHTS_ROOT / str(name_or_path)


def available_models(family: str | None = None) -> list[str]:
    """Names of bundled models that have an ONNX file (optionally one family's)."""
    names = []
    if WEIGHTS_ROOT.is_dir():
        for folder in sorted(WEIGHTS_ROOT.iterdir()):
            cfg = folder / "config.json"
            if (
                cfg.is_file()
                and (folder / "model.onnx").is_file()
                and (family is None or json.loads(cfg.read_text()).get("family") == family)
            ):
                names.append(folder.name)
    return names


def _open(name_or_path: str | Path, family: str, **options: Any) -> Any:
    folder = _model_dir(name_or_path)
    cfg_path = folder / "config.json"
    if not cfg_path.is_file() or not (folder / "model.onnx").is_file():
        bundled = ", ".join(available_models(family)) or "none is bundled yet"
        raise MissingWeights(
            f"no ONNX {family} model at {folder} (bundled {family} models: {bundled})", str(name_or_path)
        )
    config = json.loads(cfg_path.read_text(encoding="utf-8"))
    module_name, cls_name = config.get("runtime", DEFAULT_RUNTIMES[family]).split(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    return cls(folder, config, **options)


def marked_default(family: str) -> str | None:
    """The bundled model of a family whose config says ``"default": true``, if any."""
    for name in available_models(family):
        if json.loads((WEIGHTS_ROOT / name / "config.json").read_text()).get("default"):
            return name
    return None


def default_model(family: str) -> str:
    """The bundled model a family uses by default: the one marked ``"default": true``, else the first."""
    marked = marked_default(family)
    if marked is not None:
        return marked
    names = available_models(family)
    if not names:
        raise MissingWeights(f"no {family} model is bundled yet")
    return names[0]


def load_recognizer(name_or_path: str | Path | None = None, **options: Any) -> Recognizer:
    return _open(name_or_path or default_model("recognition"), "recognition", **options)


# Detectors that need no weights: the classical fallback for clean documents.
BUILTIN_DETECTORS = {"morph_lines": "textlens.runtime.classic:MorphologyDetector"}


def load_detector(name_or_path: str | Path | None = None, **options: Any) -> Detector:
    """A bundled or given ONNX detector; with no name, the bundled one marked default, else the classical
    ``morph_lines`` (a bundled detector still in training is used only when asked for by name)."""
    if name_or_path is None:
        name_or_path = marked_default("detection") or "morph_lines"
    if str(name_or_path) in BUILTIN_DETECTORS:
        module_name, cls_name = BUILTIN_DETECTORS[str(name_or_path)].split(":")
        return getattr(importlib.import_module(module_name), cls_name)()
    return _open(name_or_path or default_model("detection"), "detection", **options)
