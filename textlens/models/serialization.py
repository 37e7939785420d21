"""Saving and loading torch weights (safetensors, or a training checkpoint's state dict)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textlens.errors import ModelError


def read_checkpoint(path: str | Path) -> Any:
    """What ``torch.save`` wrote to ``path`` (a Lightning checkpoint, a ``.pt``); a missing, truncated or
    foreign file is a ``ModelError`` naming it, not torch's traceback.

    Only tensors and plain values are unpickled (``weights_only=True``): a checkpoint is a pickle, and a
    crafted one would otherwise run its own code on load. Our trainers' checkpoints hold nothing else.
    """
    import pickle

    import torch

    path = Path(path)
    if not path.is_file():
        raise ModelError("weights file not found", path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:  # the weights-only unpickler's refusals, and pickles it cannot parse
        reason = _unpickling_reason(exc)
        if not any(mark in reason for mark in _OBJECT_REFUSALS):
            raise ModelError(f"cannot read the checkpoint: {reason}", path) from exc
        raise ModelError(
            f"refused to load the checkpoint: it holds Python objects other than tensors and plain values "
            f"({reason}), and unpickling them could run code",
            path,
        ) from exc
    except Exception as exc:  # torch raises zip, key, EOF and runtime errors alike for an unreadable file
        raise ModelError(f"cannot read the checkpoint: not a torch file, or a damaged one ({exc!r})", path) from exc


# How torch's weights-only unpickler words a refusal of an object (a function, a class), not of a damaged file.
_OBJECT_REFUSALS = ("GLOBAL", "Can only", "allowlisted", "persistent")


def _unpickling_reason(exc: Exception) -> str:
    """The line of torch's unpickling error that says what went wrong, without its advice to load the file
    with ``weights_only=False`` (which would run whatever the file holds)."""
    boilerplate = ("Weights only load failed", "Please file an issue", "Check the documentation")
    lines = [line.strip() for line in str(exc).splitlines()]
    useful = [line for line in lines if line and not line.startswith(boilerplate) and "weights_only" not in line]
    return (useful or ["not a weights-only pickle"])[0].rstrip(".")


def checkpoint_state(blob: Any) -> dict[str, Any]:
    """The model's tensors in what ``read_checkpoint`` returned: a plain state dict, or a Lightning
    checkpoint's ``state_dict`` less the ``model.`` prefix (the system's attribute holding the model)."""
    state = blob.get("state_dict", blob) if isinstance(blob, dict) else blob
    if any(k.startswith("model.") for k in state):
        state = {k[len("model.") :]: v for k, v in state.items() if k.startswith("model.")}
    return dict(state)


def read_state(path: str | Path) -> dict[str, Any]:
    """The fp32 state dict stored in ``path`` (``.safetensors``, or a ``.ckpt``/``.pt`` holding ``state_dict``)."""
    path = Path(path)
    if not path.is_file():
        raise ModelError("weights file not found", path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        state = checkpoint_state(read_checkpoint(path))
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def load_weights(model: Any, path: str | Path, strict: bool = True) -> None:
    """Load ``path`` (``.safetensors``, or a ``.ckpt``/``.pt`` holding ``state_dict``) into ``model``."""
    load_state(model, read_state(path), path, strict)


def load_state(model: Any, state: dict[str, Any], path: str | Path, strict: bool = True) -> None:
    """Load a state dict read from ``path`` into ``model``; a mismatch is a ``ModelError`` naming ``path``."""
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # torch refuses a shape mismatch even when not strict
        raise ModelError(f"weights do not fit the model: {exc}", path) from exc
    if strict and (missing or unexpected):
        raise ModelError(f"weights do not fit the model: missing {missing[:5]}, unexpected {unexpected[:5]}", path)


def save_weights(model: Any, path: str | Path, half: bool = False) -> None:
    """Save a model's state dict as safetensors (fp16 when ``half``), atomically."""
    from safetensors.torch import save

    from textlens.io.atomic import atomic_write_bytes

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: (v.half() if half and v.is_floating_point() else v).contiguous() for k, v in model.state_dict().items()}
    # Serialised in memory (the weights are a few MB): safetensors' own file writer makes owner-only files.
    atomic_write_bytes(path, save(state))
