"""Starting a run from trained weights: read a model source and load what fits, remapping the classifier.

A source is a bundled model name (``textlens/models/weights/<name>/``), an export folder
(``config.json`` + ``model.safetensors``), a ``.safetensors`` file, or a Lightning ``.ckpt``.
When the charset changes, classifier rows (and attention token embeddings) are copied, through the two
tokenizers, for the classes both layouts share by name (the special tokens and each common character); the
other rows keep their fresh initialisation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from textlens.data.charset import DecoderKind, Tokenizer, tokenizer_for
from textlens.errors import MissingWeights
from textlens.models.bundle import CONFIG_FILE, bundle_dir, read_bundle
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
        path = bundle_dir(str(source))
    if path.is_dir():
        weights = path / "model.safetensors"
        if not weights.is_file():
            raise MissingWeights(
                f"--finetune {source}: no model.safetensors (bundled name, export folder, "
                ".safetensors or .ckpt expected)",
                path,
            )
        config = _folder_config(path)
        state = load_file(str(weights))
    elif path.suffix == ".safetensors":
        config = _folder_config(path.parent)
        state = load_file(str(path))
    else:
        config, state = _state_from_checkpoint(path)
    return config, {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def _folder_config(folder: Path) -> dict[str, Any]:
    """The ``config.json`` of a weights folder, ``{}`` when it has none (a bare ``.safetensors``)."""
    return read_bundle(folder).config if (folder / CONFIG_FILE).is_file() else {}


def source_tokenizer(config: dict[str, Any], kind: DecoderKind) -> Tokenizer | None:
    """The class layout of a source's weights (from :func:`read_source`'s config): its charset with its
    decoder kind (``kind``, the new model's, when the config names none); None when its charset is unknown."""
    charset = config.get("charset")
    return tokenizer_for(charset, config.get("decoder") or kind) if charset else None


def load_matching(model: torch.nn.Module, state: dict[str, Tensor], old: Tokenizer | None, new: Tokenizer) -> str:
    """Load every tensor whose name and shape match; remap class rows when the class layout differs.

    ``old`` is the layout of ``state`` (None: unknown, so its class rows are not loaded), ``new`` the model's.
    Returns a one-line report of what was loaded and what kept its initialisation.
    """
    target = model.state_dict()
    loaded: dict[str, Tensor] = {}
    remapped, skipped = [], []
    same_layout = old is not None and old.class_rows() == new.class_rows()
    for key, value in target.items():
        source = state.get(key)
        if source is None:
            skipped.append(key)
        elif key in CLASS_ROW_KEYS and not same_layout:
            if old is None:
                skipped.append(key)
                continue
            loaded[key] = remap_rows(source, value.clone(), old, new)
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


def remap_rows(source: Tensor, fresh: Tensor, old: Tokenizer, new: Tokenizer) -> Tensor:
    """``fresh`` (rows in ``new``'s layout) with the rows of every class both layouts share copied from ``source``
    (rows in ``old``'s): the special tokens and each character the two charsets have in common."""
    old_rows = old.class_rows()
    for token, new_row in new.class_rows().items():
        old_row = old_rows.get(token)
        if old_row is not None and old_row < source.shape[0] and source.shape[1:] == fresh.shape[1:]:
            fresh[new_row] = source[old_row]
    return fresh
