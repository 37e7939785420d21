"""Exporting detectors to ONNX (dynamic batch, height and width) and checking torch/ONNX parity.

The graph takes ``images`` (N×3×H×W float, normalised as the config's ``input`` says, H and W multiples
of 32) and returns ``prob`` (N×1×H×W for DB, N×1×H/4×W/4 for EAST) and, for EAST, ``geo`` (N×5×H/4×W/4).
Eval mode drops DB's threshold branch, so the graph holds only what inference uses.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from textlens.errors import ModelError

INPUT_NAME = "images"
DEFAULT_OPSET = 17
EXAMPLE_SIZE = (1, 3, 256, 320)


def _outputs_as_tuple(model: Any) -> Any:
    """Wrap a model returning a dict so the traced graph has plain, named outputs in a fixed order."""
    import torch

    names = tuple(getattr(model, "outputs", ("prob",)))

    class Outputs(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, images: Any) -> Any:
            out = self.inner(images)
            return tuple(out[name] for name in names)

    return Outputs(model), names


def export_detector(model: Any, path: str | Path, opset: int = DEFAULT_OPSET) -> Path:
    """Export a detector's eval-mode graph to ``path`` (checked with onnx.checker, replaced atomically)."""
    import onnx
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wrapper, names = _outputs_as_tuple(model)
    axes = {INPUT_NAME: {0: "batch", 2: "height", 3: "width"}}
    axes.update({name: {0: "batch", 2: "out_height", 3: "out_width"} for name in names})
    was_training = model.training
    model.eval()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    example = torch.randn(*EXAMPLE_SIZE, generator=torch.Generator().manual_seed(0))
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # The exporter's deprecation and tracer notes are about torch internals, not the model.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapper,
                (example,),
                str(tmp),
                dynamo=False,
                input_names=[INPUT_NAME],
                output_names=list(names),
                dynamic_axes=axes,
                opset_version=opset,
                do_constant_folding=True,
            )
        onnx.checker.check_model(str(tmp))
        os.replace(tmp, path)
    except onnx.checker.ValidationError as exc:
        raise ModelError(f"the exported graph does not pass onnx.checker ({exc})", path) from exc
    finally:
        tmp.unlink(missing_ok=True)
        model.train(was_training)
    return path


def detector_parity(model: Any, onnx_path: str | Path, inputs: Any) -> float:
    """Largest absolute difference between torch's and onnxruntime's ``prob`` maps on the same inputs."""
    import torch

    from textlens.runtime.session import create_session

    batch = (
        inputs.detach().cpu().float()
        if isinstance(inputs, torch.Tensor)
        else torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32))
    )
    was_training = model.training
    model.eval()
    with torch.no_grad():
        expected = model(batch)["prob"].float().numpy()
    model.train(was_training)
    session = create_session(onnx_path, threads=1)
    got = session.run(["prob"], {INPUT_NAME: batch.numpy()})[0]
    if got.shape != expected.shape:
        raise ModelError(f"ONNX prob map has shape {got.shape}, torch gives {expected.shape}", onnx_path)
    return float(np.abs(got - expected).max())


def export_folder(model: Any, config: dict[str, Any], folder: str | Path, opset: int = DEFAULT_OPSET) -> Path:
    """Write ``config.json``, ``model.safetensors`` (fp16) and ``model.onnx`` into ``folder``; returns it."""
    from textlens.data.manifest import atomic_write_text
    from textlens.models.serialization import save_weights

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_weights(model, folder / "model.safetensors", half=True)
    export_detector(model, folder / "model.onnx", opset)
    atomic_write_text(folder / "config.json", json.dumps(config, indent=2) + "\n")
    return folder
