"""A timm-style registry: ``register_model`` decorates a builder, ``create_model(name)`` builds it.

Names are architectures (``ram``, ``crnn_fast``); bundled weights (``textlens.models.bundle``) have names of
their own and say which architecture they fit (``ram_mnist`` is a ``ram``). ``create_model`` takes either:
a bundle's name builds its architecture with its config. The registry module itself never imports torch;
the family modules, imported on first use, do.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textlens.errors import ConfigError, MissingWeights, ModelError, UnknownModel
from textlens.models.bundle import Bundle, bundle_dir, list_bundles, pretrained_bundle, read_bundle

# Top-level modules that only the ``train`` extra installs: the core install (onnxruntime) lacks them.
TRAIN_EXTRA_MODULES = frozenset(
    {"torch", "pytorch_lightning", "lightning_fabric", "onnx", "safetensors", "lmdb", "scipy", "h5py"}
)

# Modules that register models when imported; listed here so the registry can find every family.
FAMILY_MODULES: dict[str, tuple[str, ...]] = {
    "recognition": ("textlens.models.recognition",),
    "detection": ("textlens.models.detection",),
    "glimpse": ("textlens.models.glimpse",),
    "digits": ("textlens.models.digits",),
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
        """Whether ``create_model(name, pretrained=True)`` finds weights: a bundle named after the
        architecture, or its only bundle."""
        try:
            return pretrained_bundle(self.name).arch == self.name
        except ModelError:
            return False


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
    """Registered architectures, optionally one family's; with ``pretrained``, the bundled models instead
    (each name loads with ``create_model(name, pretrained=True)``)."""
    _load_families(family)
    if pretrained:
        return [b.name for b in list_bundles(family) if b.has_torch and b.arch in _REGISTRY]
    return sorted(s.name for s in _REGISTRY.values() if family is None or s.family == family)


def get_spec(name: str) -> ModelSpec:
    if name not in _REGISTRY:
        _load_families()
    if name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY)) or "none (is the 'train' extra with torch installed?)"
        raise UnknownModel(f"unknown model {name!r}; registered: {known}")
    return _REGISTRY[name]


def weights_dir(name: str) -> Path:
    """The folder of the bundle ``name`` (see ``textlens.models.bundle.bundle_dir``)."""
    return bundle_dir(name)


def load_config(name_or_dir: str | Path) -> dict[str, Any]:
    """The config.json of bundled weights: a bundle's name or folder, or an architecture with one bundle."""
    return pretrained_bundle(name_or_dir).config


def _bundle_for(name: str, pretrained: bool) -> Bundle | None:
    """The bundle whose config (and, when ``pretrained``, weights) ``create_model(name)`` uses, if any: with
    ``pretrained``, always one; without, only for a name that is a bundle's and not an architecture's."""
    if pretrained:
        return pretrained_bundle(name)
    if name not in _REGISTRY:
        _load_families()
    if name in _REGISTRY or not (bundle_dir(name) / "config.json").is_file():
        return None
    return read_bundle(name)


def create_model(name: str, pretrained: bool = False, checkpoint: str | Path | None = None, **overrides: Any) -> Any:
    """Build a registered architecture, or a bundle's (``ram_mnist`` builds a ``ram`` with its config), as a
    torch module.

    ``pretrained=True`` loads the bundled weights and their config: ``name`` is a bundle's name, or an
    architecture with its own or only bundle. ``checkpoint`` loads a safetensors file or a training
    checkpoint instead. Keyword overrides change the config.
    """
    bundle = _bundle_for(name, pretrained)
    spec = get_spec(name if bundle is None else _bundle_arch(bundle))
    config = dict(spec.defaults)
    weights: Path | None = None
    if bundle is not None:
        if bundle.family is not None and bundle.family != spec.family:
            raise ModelError(
                f"config.json says family {bundle.family!r}, but {spec.name} is a {spec.family} model", bundle.folder
            )
        config.update(bundle.config.get("model", {}))
    if pretrained:
        assert bundle is not None
        weights = bundle.safetensors
        if not bundle.has_torch:
            raise MissingWeights(f"model {bundle.name!r} has a config but no model.safetensors", weights)
    config.update(overrides)
    model = spec.builder(**config)
    source = Path(checkpoint) if checkpoint is not None else weights
    if source is not None:
        from textlens.models.serialization import load_weights

        load_weights(model, source)
    return model


def _bundle_arch(bundle: Bundle) -> str:
    if bundle.arch is None:
        raise ModelError("config.json has no 'arch' (the registered model name)", bundle.folder / "config.json")
    return bundle.arch
