"""Starting a run from trained weights: read a model source and load what fits, remapping the classifier.

A source is a bundled model name (``textlens/models/weights/<name>/``), an export folder
(``config.json`` + ``model.safetensors``), a ``.safetensors`` file, or a Lightning ``.ckpt``.
When the charset changes, classifier rows (and attention token embeddings) are copied for the
characters both charsets share; the other rows keep their fresh initialisation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from textlens.errors import MissingWeights
from textlens.models.registry import weights_dir
from textlens.models.serialization import checkpoint_state, read_checkpoint

# Parameters whose first dimension indexes the output classes (or input tokens).
CLASS_ROW_KEYS = ("classifier.weight", "classifier.bias", "embed.weight")


def _state_from_checkpoint(path: Path) -> tuple[dict[str, Any], dict[str, Tensor]]:
    blob = read_checkpoint(path)
    state = checkpoint_state(blob)
    hp = blob.get("hyper_parameters", {}) if isinstance(blob, dict) else {}
    config = {"arch": hp.get("arch"), "model": hp.get("model_kwargs", {}), "charset": hp.get("charset")}
    return config, state


def read_source(source: str | Path) -> tuple[dict[str, Any], dict[str, Tensor]]:
    """The config (arch, model kwargs, charset; possibly partial) and the fp32 state dict of ``source``."""
    from safetensors.torch import load_file

    path = Path(source)
    if not path.exists():
        path = weights_dir(str(source))
    if path.is_dir():
        config_path, weights = path / "config.json", path / "model.safetensors"
        if not weights.is_file():
            raise MissingWeights(
                f"--finetune {source}: no model.safetensors (bundled name, export folder, "
                ".safetensors or .ckpt expected)",
                path,
            )
        config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
        state = load_file(str(weights))
    elif path.suffix == ".safetensors":
        sibling = path.with_name("config.json")
        config = json.loads(sibling.read_text(encoding="utf-8")) if sibling.is_file() else {}
        state = load_file(str(path))
    else:
        config, state = _state_from_checkpoint(path)
    return config, {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def _class_index(chars: str, decoder: str) -> dict[str, int]:
    """Row of each character (and special token) in the classifier of a ``decoder`` model."""
    offset = 1 if decoder == "ctc" else 3
    specials = {"<blank>": 0} if decoder == "ctc" else {"<pad>": 0, "<sos>": 1, "<eos>": 2}
    return {**specials, **{c: i + offset for i, c in enumerate(chars)}}


def load_matching(
    model: torch.nn.Module, state: dict[str, Tensor], old_chars: str | None, new_chars: str, decoder: str
) -> str:
    """Load every tensor whose name and shape match; remap class rows when the charset differs.

    Returns a one-line report of what was loaded and what kept its initialisation.
    """
    target = model.state_dict()
    loaded: dict[str, Tensor] = {}
    remapped, skipped = [], []
    same_charset = old_chars is not None and old_chars == new_chars
    for key, value in target.items():
        source = state.get(key)
        if source is None:
            skipped.append(key)
        elif key in CLASS_ROW_KEYS and not same_charset:
            if old_chars is None:
                skipped.append(key)
                continue
            loaded[key] = _remap_rows(source, value.clone(), old_chars, new_chars, decoder)
            remapped.append(key)
        elif source.shape == value.shape:
            loaded[key] = source
        else:
            skipped.append(key)
    model.load_state_dict(loaded, strict=False)
    return (
        f"loaded {len(loaded)}/{len(target)} tensors"
        + (f", class rows remapped for {remapped}" if remapped else "")
        + (f", re-initialised {skipped[:6]}" if skipped else "")
    )


def _remap_rows(source: Tensor, fresh: Tensor, old_chars: str, new_chars: str, decoder: str) -> Tensor:
    old_index, new_index = _class_index(old_chars, decoder), _class_index(new_chars, decoder)
    for token, new_row in new_index.items():
        old_row = old_index.get(token)
        if old_row is not None and old_row < source.shape[0] and source.shape[1:] == fresh.shape[1:]:
            fresh[new_row] = source[old_row]
    return fresh
