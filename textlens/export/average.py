"""Weight averaging ("model soup", Wortsman et al. 2022): one model whose parameters are the mean of several.

Models fine-tuned from the same starting weights (other data mixes, seeds or learning rates) usually sit
in one basin of the loss, so the mean of their parameters is itself a good model, often better than each
of them, at no extra inference cost. Averaging unrelated models (trained from different random starts)
gives garbage; :func:`average_folders` only checks that the shapes agree, not the ancestry.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from textlens.errors import ConfigError, ModelError


def average_folders(
    folders: Sequence[str | Path], weights: Sequence[float] | None = None
) -> tuple[Any, dict[str, Any]]:
    """The torch model whose parameters are the weighted mean of those in ``folders``, and its config.

    Each folder holds config.json + model.safetensors (a bundle or a trainer's export). All must be the
    same architecture with the same constructor options and charset. The config is the first folder's,
    with ``"averaged_from"`` recording each source, its share and its ``"training"`` record (moved there
    from the top level, which would otherwise describe the first source only) — or, for a source that is
    itself a soup, its own ``"averaged_from"``, so a soup of soups keeps every training record. Integer
    buffers (batch-norm step counters) are taken from the first model.
    """
    from textlens.export.bundle import load_model_folder

    folders = [Path(f) for f in folders]
    if len(folders) < 2:
        raise ConfigError(f"averaging needs at least two model folders, got {len(folders)}")
    weights = [1.0] * len(folders) if weights is None else [float(w) for w in weights]
    if len(weights) != len(folders):
        raise ConfigError(f"{len(weights)} weights given for {len(folders)} model folders")
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ConfigError(f"averaging weights must be non-negative with a positive sum, got {weights}")

    model, config = load_model_folder(folders[0])
    states, records = [model.state_dict()], [_provenance(config)]
    for folder in folders[1:]:
        other, other_config = load_model_folder(folder)
        _check_compatible(config, other_config, folder)
        records.append(_provenance(other_config))
        state = other.state_dict()
        wrong = [k for k, v in states[0].items() if k not in state or state[k].shape != v.shape]
        if wrong or len(state) != len(states[0]):
            raise ModelError(f"its tensors do not match the first model's (e.g. {wrong[:3]})", folder)
        states.append(state)

    total = sum(weights)
    averaged = {}
    for key, first in states[0].items():
        if first.is_floating_point():
            mean = sum(state[key].double() * w for state, w in zip(states, weights, strict=True)) / total
            averaged[key] = mean.to(first.dtype)
        else:
            averaged[key] = first
    model.load_state_dict(averaged)
    config = {k: v for k, v in config.items() if k not in ("training", "averaged_from")}
    config["averaged_from"] = [
        {"source": str(f), "weight": w / total, **rec} for f, w, rec in zip(folders, weights, records, strict=True)
    ]
    return model.eval(), config


def write_glimpse_average(
    folders: Sequence[str | Path],
    output: str | Path,
    weights: Sequence[float] | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """Average glimpse models (:func:`average_folders`) into ``output`` as their trainer exports them:
    config.json + fp16 model.safetensors (glimpse models keep torch weights; there is no ONNX bundle of them).
    ``name`` goes into the config (default: the folder's name). Returns the config written."""
    from textlens.io.atomic import atomic_write_text
    from textlens.models.serialization import save_weights

    output = Path(output)
    model, config = average_folders(folders, weights)
    if config.get("family") != "glimpse":
        raise ConfigError(f"{folders[0]} is a {config.get('family')} model: use textlens export average")
    config["name"] = name or output.name
    save_weights(model, output / "model.safetensors", half=True)
    atomic_write_text(output / "config.json", json.dumps(config, indent=2) + "\n")
    return config


def _provenance(config: dict[str, Any]) -> dict[str, Any]:
    """How a source's weights were made: its training record, or the sources it was averaged from."""
    return {key: config[key] for key in ("training", "averaged_from") if key in config}


def _check_compatible(first: dict[str, Any], other: dict[str, Any], folder: Path) -> None:
    for key in ("arch", "model", "charset", "decoder"):
        if first.get(key) != other.get(key):
            raise ConfigError(
                f"cannot average: its {key!r} ({other.get(key)!r}) differs from the first model's ({first.get(key)!r})",
                folder,
            )
