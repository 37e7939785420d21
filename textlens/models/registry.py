"""A timm-style registry: ``register_model`` decorates a builder, ``create_model(name)`` builds it.

Bundled weights live in ``textlens/models/weights/<name>/``: ``config.json`` (input height, charset,
normalisation and the builder's keyword arguments), ``model.safetensors`` for torch and ``model.onnx``
for the runtime, and ``MODEL.md``. The registry module itself never imports torch; the family modules,
imported on first use, do.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textlens.errors import ConfigError, MissingWeights, ModelError, UnknownModel

WEIGHTS_ROOT = Path(__file__).parent / "weights"

# Top-level modules that only the ``train`` extra installs: the core install (onnxruntime) lacks them.
TRAIN_EXTRA_MODULES = frozenset(
    {"torch", "pytorch_lightning", "lightning_fabric", "onnx", "safetensors", "lmdb", "scipy", "h5py"}
)

# Modules that register models when imported; listed here so the registry can find every family.
FAMILY_MODULES: dict[str, tuple[str, ...]] = {
    "recognition": ("textlens.models.recognition",),
    "detection": ("textlens.models.detection",),
    "glimpse": ("textlens.models.glimpse",),
}


@dataclass(frozen=True)
class ModelSpec:
    """What the registry knows of one model name."""

    name: str
    family: str
    builder: Callable[..., Any]
    defaults: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    @property
    def weights_dir(self) -> Path:
        return weights_dir(self.name)

    @property
    def has_weights(self) -> bool:
        return (self.weights_dir / "config.json").is_file()


_REGISTRY: dict[str, ModelSpec] = {}
_loaded_families: set[str] = set()


def register_model(
    name: str, family: str, description: str = "", **defaults: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: register ``builder(**config) -> nn.Module`` under ``name`` with default config."""

    def wrap(builder: Callable[..., Any]) -> Callable[..., Any]:
        if name in _REGISTRY and _REGISTRY[name].builder is not builder:
            raise ValueError(f"model {name!r} is registered twice")
        _REGISTRY[name] = ModelSpec(
            name=name,
            family=family,
            builder=builder,
            defaults=dict(defaults),
            description=description or (builder.__doc__ or "").strip().split("\n")[0],
        )
        return builder

    return wrap


@contextmanager
def needs_train_extra(what: str) -> Iterator[None]:
    """Turn a missing train-extra module, imported in the block, into a ``ConfigError`` saying how to install it.

    The CLI shows it as one line and exits 2, where the core install would otherwise end in a traceback.
    """
    try:
        yield
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in TRAIN_EXTRA_MODULES:
            raise
        raise ConfigError(
            f"{what} needs the train extra: pip install textlens[train] (no module {exc.name!r})"
        ) from exc


def require_torch(what: str) -> None:
    """The error of :func:`needs_train_extra` up front, for a command that would meet the missing torch late
    (the registry then only says it knows no model of that name)."""
    with needs_train_extra(what):
        import torch  # noqa: F401


def _load_families(family: str | None = None) -> None:
    for fam, modules in FAMILY_MODULES.items():
        if (family is None or fam == family) and fam not in _loaded_families:
            for module in modules:
                try:
                    importlib.import_module(module)
                except ModuleNotFoundError as exc:
                    # A family not yet written (or torch absent) registers nothing; others still work.
                    if exc.name and not module.startswith(exc.name) and exc.name != "torch":
                        raise
            _loaded_families.add(fam)


def list_models(family: str | None = None, pretrained: bool = False) -> list[str]:
    """Registered model names, optionally one family's, optionally only those with bundled weights."""
    _load_families(family)
    names = [s.name for s in _REGISTRY.values() if family is None or s.family == family]
    if pretrained:
        names = [n for n in names if _REGISTRY[n].has_weights]
    return sorted(names)


def get_spec(name: str) -> ModelSpec:
    if name not in _REGISTRY:
        _load_families()
    if name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY)) or "none (is the 'train' extra with torch installed?)"
        raise UnknownModel(f"unknown model {name!r}; registered: {known}")
    return _REGISTRY[name]


def weights_dir(name: str) -> Path:
    return WEIGHTS_ROOT / name


def load_config(name_or_dir: str | Path) -> dict[str, Any]:
    """The config.json of bundled weights (a registered name or a weights folder)."""
    folder = Path(name_or_dir) if Path(name_or_dir).is_dir() else weights_dir(str(name_or_dir))
    path = folder / "config.json"
    if not path.is_file():
        raise MissingWeights(f"no bundled weights for {name_or_dir!r} (looked for {path})")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelError(f"config.json is not JSON: {exc}", path) from exc


def create_model(name: str, pretrained: bool = False, checkpoint: str | Path | None = None, **overrides: Any) -> Any:
    """Build a registered model as a torch module.

    ``pretrained=True`` loads the bundled weights (and their config); ``checkpoint`` loads a
    safetensors file or a training checkpoint instead. Keyword overrides change the config.
    """
    spec = get_spec(name)
    config = dict(spec.defaults)
    weights: Path | None = None
    if pretrained:
        config.update(load_config(name).get("model", {}))
        weights = spec.weights_dir / "model.safetensors"
        if not weights.is_file():
            raise MissingWeights(f"model {name!r} has a config but no model.safetensors", weights)
    config.update(overrides)
    model = spec.builder(**config)
    source = Path(checkpoint) if checkpoint is not None else weights
    if source is not None:
        from textlens.models.serialization import load_weights

        load_weights(model, source)
    return model
