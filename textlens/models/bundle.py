"""Model bundles: a folder of ``config.json`` + weights (``model.safetensors``, ``model.onnx``) + ``MODEL.md``.

This module is the one place that finds, reads and writes bundles; it imports neither torch nor the runtime,
so the torch-free inference path and the training path share it. The bundled ones live in
:data:`WEIGHTS_ROOT` (``textlens/models/weights/<name>/``).

A bundle's name (its folder) is not its architecture: ``ram_mnist`` is a ``ram`` with the config of its
``task``, as timm keeps ``arch.tag`` apart from the pretrained config. ``config.json`` carries
``name``, ``family`` (``recognition``, ``detection``, ``glimpse``), ``arch`` (the registered builder) and
``model`` (the builder's keyword arguments), plus what the family's runtime reads (``charset``, ``input``...).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textlens.errors import MissingWeights, ModelError

WEIGHTS_ROOT = Path(__file__).resolve().parent / "weights"

CONFIG_FILE = "config.json"
TORCH_FILE = "model.safetensors"
ONNX_FILE = "model.onnx"
CARD_FILE = "MODEL.md"


@dataclass(frozen=True)
class Bundle:
    """One bundle folder and its parsed ``config.json``."""

    name: str
    folder: Path
    config: dict[str, Any]

    @property
    def arch(self) -> str | None:
        """The registered architecture the weights fit (``config["arch"]``)."""
        arch = self.config.get("arch")
        return str(arch) if arch else None

    @property
    def family(self) -> str | None:
        family = self.config.get("family")
        return str(family) if family else None

    @property
    def onnx(self) -> Path:
        return self.folder / ONNX_FILE

    @property
    def safetensors(self) -> Path:
        return self.folder / TORCH_FILE

    @property
    def card(self) -> Path:
        return self.folder / CARD_FILE

    @property
    def has_onnx(self) -> bool:
        return self.onnx.is_file()

    @property
    def has_torch(self) -> bool:
        return self.safetensors.is_file()

    @property
    def is_default(self) -> bool:
        """Whether the config marks it as its family's default model (``"default": true``)."""
        return bool(self.config.get("default"))


def bundle_dir(name_or_path: str | Path) -> Path:
    """The folder of a bundle: an existing folder as given, a ``model.onnx`` file's folder, else the bundled
    model of that name under :data:`WEIGHTS_ROOT` (which may not exist)."""
    path = Path(name_or_path)
    if path.is_dir():
        return path
    if path.suffix == ".onnx" and path.is_file():
        return path.parent
    return WEIGHTS_ROOT / str(name_or_path)


def bundled_names(family: str | None = None) -> list[str]:
    """Names of the bundled models (optionally one family's), sorted."""
    return [b.name for b in list_bundles(family)]


def read_bundle(name_or_path: str | Path) -> Bundle:
    """The bundle of a bundled name, a folder or a ``model.onnx``; ``MissingWeights`` when the folder has no
    ``config.json``, ``ModelError`` when it is not a JSON object."""
    folder = bundle_dir(name_or_path)
    path = folder / CONFIG_FILE
    if not path.is_file():
        given = Path(name_or_path)
        if given.is_dir() or (given.suffix == ".onnx" and given.is_file()):
            raise MissingWeights(f"no {CONFIG_FILE} in the model folder", folder)
        if given.exists():
            raise MissingWeights(f"not a model folder ({CONFIG_FILE} + weights)", given)
        bundled = ", ".join(bundled_names()) or "none"
        raise MissingWeights(f"no bundled model {str(name_or_path)!r} (looked for {path}; bundled: {bundled})")
    return Bundle(folder.name, folder, read_config(path))


def read_config(path: Path) -> dict[str, Any]:
    """A ``config.json`` file as a dict (``ModelError`` naming the file when it is not a JSON object)."""
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{CONFIG_FILE} is not valid JSON ({exc})", path) from exc
    if not isinstance(config, dict):
        raise ModelError(f"{CONFIG_FILE} must hold a JSON object", path)
    return config


def list_bundles(family: str | None = None, onnx: bool = False) -> list[Bundle]:
    """The bundled models, sorted by name; optionally one family's, optionally only those with an ONNX file.

    Hidden folders (a bundle being swapped in by ``textlens export``) and folders without ``config.json``
    are not bundles.
    """
    root = WEIGHTS_ROOT
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(root.iterdir()):
        if folder.name.startswith((".", "_")) or not (folder / CONFIG_FILE).is_file():
            continue
        found.append(Bundle(folder.name, folder, read_config(folder / CONFIG_FILE)))
    return [b for b in found if (family is None or b.family == family) and (b.has_onnx or not onnx)]


def pretrained_bundle(name: str | Path) -> Bundle:
    """The bundle ``create_model(name, pretrained=True)`` loads: a bundle's name or folder, or an architecture
    of which exactly one bundle exists (``dram`` → ``dram_multidigit``)."""
    if (bundle_dir(name) / CONFIG_FILE).is_file():
        return read_bundle(name)
    if isinstance(name, str) and "/" not in name and "\\" not in name:
        matches = [b for b in list_bundles() if b.arch == name]
        if len(matches) == 1:
            return matches[0]
        if matches:
            names = ", ".join(b.name for b in matches)
            raise MissingWeights(f"{name!r} has several bundled weights ({names}): name the one to load")
    return read_bundle(name)


def write_config(folder: str | Path, config: dict[str, Any]) -> Path:
    """Write ``folder/config.json`` atomically (indented, UTF-8 kept as is); returns its path."""
    from textlens.io.atomic import atomic_write_text

    return atomic_write_text(Path(folder) / CONFIG_FILE, json.dumps(config, indent=2, ensure_ascii=False) + "\n")
