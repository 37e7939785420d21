"""Finding bundled ONNX models and opening them as Detector / Recognizer objects.

Bundles are found and read by ``textlens.models.bundle`` (torch-free). The class that runs a model is chosen
by its family from the fixed table below, never from the model folder: a config.json that could name a module
would let any downloaded bundle run its own code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textlens.errors import MissingWeights, ModelError
from textlens.models.bundle import bundle_dir, list_bundles, read_bundle
from textlens.runtime.base import Detector, Recognizer

log = logging.getLogger(__name__)

# The "runtime" value bundles and trainer exports carry (older textlens imported it). It is only checked
# now: absent or equal to its family's entry is accepted, anything else refused.
DEFAULT_RUNTIMES = {
    "recognition": "textlens.runtime.recognizer:OnnxRecognizer",
    "detection": "textlens.runtime.detector:OnnxDetector",
}


def _recognizer_class() -> type:
    from textlens.runtime.recognizer import OnnxRecognizer

    return OnnxRecognizer


def _detector_class() -> type:
    from textlens.runtime.detector import OnnxDetector

    return OnnxDetector


def _morphology_detector() -> Detector:
    from textlens.runtime.classic import MorphologyDetector

    return MorphologyDetector()


# Family -> the class running its ONNX models, imported on first use (reading crops never imports the detector).
RUNTIME_CLASSES: dict[str, Callable[[], type]] = {"recognition": _recognizer_class, "detection": _detector_class}

# Detectors that need no weights: the classical fallback for clean documents.
BUILTIN_DETECTORS: dict[str, Callable[[], Detector]] = {"morph_lines": _morphology_detector}


def available_models(family: str | None = None) -> list[str]:
    """Names of bundled models that have an ONNX file (optionally one family's)."""
    return [b.name for b in list_bundles(family, onnx=True)]


def _open(name_or_path: str | Path, family: str, **options: Any) -> Any:
    folder = bundle_dir(name_or_path)
    if not (folder / "config.json").is_file() or not (folder / "model.onnx").is_file():
        raise MissingWeights(_not_a_model(name_or_path, folder, family), str(name_or_path))
    bundle = read_bundle(folder)
    check_runtime(bundle.config, family, folder)
    log.info("%s model %s from %s", family, bundle.name, folder)
    return RUNTIME_CLASSES[family]()(folder, bundle.config, **options)


def _not_a_model(name_or_path: str | Path, folder: Path, family: str) -> str:
    """Why ``name_or_path`` cannot be opened as an ONNX ``family`` model, and what can be."""
    bundled = ", ".join(available_models(family)) or "none is bundled yet"
    given = Path(name_or_path)
    if given.is_dir() or given.is_file():  # a folder of one's own without config.json or model.onnx
        missing = [f for f in ("config.json", "model.onnx") if not (folder / f).is_file()]
        return (
            f"no ONNX {family} model in {folder}: {' and '.join(missing)} missing (`textlens export bundle` writes "
            f"both; bundled {family} models: {bundled})"
        )
    if given.is_absolute() or len(given.parts) > 1 or str(name_or_path).startswith("."):
        return f"no ONNX {family} model at {given}: no such folder (bundled {family} models: {bundled})"
    if (folder / "config.json").is_file():  # a bundled model of another family (a torch-only glimpse model)
        other = read_bundle(folder)
        kind = f"a {other.family} model" if other.family != family else f"a {family} model without model.onnx"
        return f"{other.name} is {kind}, not an ONNX {family} model (bundled {family} models: {bundled})"
    return (
        f"no {family} model named {str(name_or_path)!r}: the bundled ones are {bundled} (`textlens models` lists "
        f"every bundled model). An architecture name has no weights until trained: train it (`textlens train "
        f"{'rec' if family == 'recognition' else 'det'} --arch NAME`), bundle it (`textlens export bundle`) and "
        f"pass the folder"
    )


def check_runtime(config: dict[str, Any], family: str, folder: str | Path) -> None:
    """Refuse a config of another family, or whose ``runtime`` is not textlens's own for ``family`` (the field
    is never imported)."""
    declared = config.get("family", family)
    if declared != family:
        raise ModelError(f"config.json describes a {declared} model, not a {family} one", folder)
    runtime = config.get("runtime", DEFAULT_RUNTIMES[family])
    if runtime == DEFAULT_RUNTIMES[family]:
        return
    other = next((fam for fam, known in DEFAULT_RUNTIMES.items() if known == runtime), None)
    if other is not None:
        raise ModelError(f"config.json describes a {other} model, not a {family} one", folder)
    raise ModelError(
        f"config.json names the runtime {runtime!r}, which is not one of textlens's: a {family} model runs on "
        f"{DEFAULT_RUNTIMES[family]!r}, and textlens loads no code from a model folder",
        folder,
    )


def marked_default(family: str) -> str | None:
    """The bundled model of a family whose config says ``"default": true``, if any."""
    return next((name for name in available_models(family) if read_bundle(name).is_default), None)


def default_model(family: str) -> str:
    """The bundled model a family uses by default: the one marked ``"default": true``, else the first."""
    marked = marked_default(family)
    if marked is not None:
        return marked
    names = available_models(family)
    if not names:
        raise MissingWeights(f"no {family} model is bundled yet")
    return names[0]


def recognizer_for_letters(letters: str) -> tuple[str, str]:
    """The bundled recogniser (with an ONNX file) whose charset writes the most of ``letters``, and the letters
    it lacks (empty when it writes them all). Ties go to the default recogniser, then to the smaller charset
    (the more specialised model), then by name: a language needing nothing beyond ASCII keeps the default."""
    bundles = list_bundles("recognition", onnx=True)
    if not bundles:
        raise MissingWeights("no recognition model is bundled yet")

    def missing(charset: object) -> str:
        have = set(charset) if isinstance(charset, str) else set()
        return "".join(c for c in letters if c not in have)

    best = min(
        bundles,
        key=lambda b: (
            len(missing(b.config.get("charset"))),
            not b.is_default,
            len(b.config.get("charset") or ""),
            b.name,
        ),
    )
    return best.name, missing(best.config.get("charset"))


def load_recognizer(name_or_path: str | Path | None = None, **options: Any) -> Recognizer:
    """A bundled or given ONNX recogniser (a name, a bundle folder or its model.onnx); with no name, the default."""
    return _open(name_or_path or default_model("recognition"), "recognition", **options)


def load_detector(name_or_path: str | Path | None = None, **options: Any) -> Detector:
    """A bundled or given ONNX detector; with no name, the bundled one marked default, else the classical
    ``morph_lines`` (a bundled detector not marked default is used only when asked for by name)."""
    if name_or_path is None:
        name_or_path = marked_default("detection") or "morph_lines"
    if str(name_or_path) in BUILTIN_DETECTORS:
        return BUILTIN_DETECTORS[str(name_or_path)]()
    return _open(name_or_path or default_model("detection"), "detection", **options)
