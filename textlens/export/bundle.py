"""Writing a model bundle folder: config.json + model.safetensors (fp16) + model.onnx, replaced atomically.

A bundle is what ``textlens.runtime.loading`` opens and what ``create_model(pretrained=True)``
loads. Committed files must stay under :data:`MAX_FILE_BYTES`: the ONNX graph is kept fp32 for
exact parity with torch, and falls back to dynamic int8 only when the fp32 file is over the limit
(recorded as ``"onnx_dtype": "int8"`` in config.json).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textlens.errors import ConfigError, MissingWeights, ModelError
from textlens.export.onnx import DEFAULT_OPSET, Parity, check_parity, example_input, export_onnx, quantize
from textlens.runtime.loading import DEFAULT_RUNTIMES, check_runtime

MAX_FILE_BYTES = 25 * 1024 * 1024
BUNDLE_FILES = ("config.json", "model.safetensors", "model.onnx")


@dataclass(frozen=True)
class BundleReport:
    """What :func:`bundle` wrote and how the ONNX graph compares with torch."""

    folder: Path
    onnx_dtype: str
    sizes: dict[str, int]
    parity: Parity


def complete_config(config: dict[str, Any], name: str) -> dict[str, Any]:
    """The config with the fields every bundle carries filled in (name, family, runtime, default)."""
    config = dict(config)
    config.setdefault("name", name)
    family = config.setdefault("family", "recognition")
    if family not in DEFAULT_RUNTIMES:
        raise ConfigError(f"unknown model family {family!r} in the config")
    if family == "recognition":
        missing = [k for k in ("charset", "input") if k not in config]
        if missing:
            raise ConfigError(f"a recognition config needs {', '.join(missing)}")
        config.setdefault("decoder", "ctc")
    check_runtime(config, family, name)  # a bundle the loader would refuse is not written
    # Written for older textlens versions, which import it; this one only checks it.
    config["runtime"] = DEFAULT_RUNTIMES[family]
    config.setdefault("default", False)
    return config


def bundle(
    model: Any, config: dict[str, Any], out_dir: str | Path, opset: int = DEFAULT_OPSET, max_bytes: int = MAX_FILE_BYTES
) -> BundleReport:
    """Write ``out_dir`` (config.json, model.safetensors fp16, model.onnx) in one atomic swap.

    Other files already in ``out_dir`` (MODEL.md) are kept. Raises ``ModelError`` when a file would
    exceed ``max_bytes`` even after int8 quantisation of the ONNX graph.
    """
    from textlens.models.serialization import save_weights

    out_dir = Path(out_dir)
    config = complete_config(config, out_dir.name)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        save_weights(model, tmp / "model.safetensors", half=True)
        config["onnx_dtype"] = "float32"
        if config["family"] == "detection":
            onnx_path, parity = _export_detector(model, tmp / "model.onnx", opset)
        else:
            onnx_path = export_onnx(model, config, tmp / "model.onnx", opset=opset)
            if onnx_path.stat().st_size > max_bytes:
                quantize(onnx_path, onnx_path)
                config["onnx_dtype"] = "int8"
            parity = check_parity(model, onnx_path, example_input(config, batch=4), config)
        (tmp / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        sizes = {f: (tmp / f).stat().st_size for f in BUNDLE_FILES}
        too_big = {f: s for f, s in sizes.items() if s > max_bytes}
        if too_big:
            raise ModelError(f"bundle files over the {max_bytes / 2**20:.0f} MiB limit: {too_big}", out_dir)
        _keep_extra_files(out_dir, tmp)
        _swap(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return BundleReport(out_dir, config["onnx_dtype"], sizes, parity)


def _export_detector(model: Any, path: Path, opset: int) -> tuple[Path, Parity]:
    """A detector's graph and its parity: the largest |difference| of the probability maps on a random page."""
    import torch

    from textlens.export.detection import EXAMPLE_SIZE, detector_parity, export_detector

    onnx_path = export_detector(model, path, opset)
    page = torch.rand(*EXAMPLE_SIZE, generator=torch.Generator().manual_seed(1)) * 4 - 2
    # A detector has no texts to compare; texts_equal stays True and max_abs_diff carries the check.
    return onnx_path, Parity(max_abs_diff=detector_parity(model, onnx_path, page), texts_equal=True)


def _keep_extra_files(old: Path, new: Path) -> None:
    if old.is_dir():
        for item in old.iterdir():
            if item.name not in BUNDLE_FILES and item.is_file() and not item.name.startswith("."):
                shutil.copy2(item, new / item.name)


def _swap(new: Path, target: Path) -> None:
    """Put the folder ``new`` at ``target``: readers see the old bundle or the new one, never a mix."""
    if not target.exists():
        os.replace(new, target)
        return
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    shutil.rmtree(old, ignore_errors=True)
    os.replace(target, old)
    try:
        os.replace(new, target)
    except OSError:
        os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def load_model_folder(folder: str | Path, weights: str | Path | None = None) -> tuple[Any, dict[str, Any]]:
    """The torch model of a bundle-style folder (config.json + model.safetensors), e.g. a trainer's export.

    ``weights`` (a ``.safetensors`` or a trainer checkpoint such as ``runs/NAME/last.ckpt``) replaces the
    folder's own weights: the export holds the best validation step, and other steps of the same run are
    worth measuring too.
    """
    from textlens.models.registry import create_model

    folder = Path(folder)
    config_path = folder / "config.json"
    weights = folder / "model.safetensors" if weights is None else Path(weights)
    if not config_path.is_file():
        raise MissingWeights("no config.json in the model folder", folder)
    if not weights.is_file():
        raise MissingWeights("weights file not found", weights)
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelError(f"config.json is not valid JSON ({exc})", config_path) from exc
    if config.get("family") in DEFAULT_RUNTIMES:
        check_runtime(config, config["family"], folder)
    arch = config.get("arch")
    if not arch:
        raise ModelError("config.json has no 'arch' (the registered model name)", config_path)
    model = create_model(arch, checkpoint=weights, **config.get("model", {}))
    model.eval()
    return model, config


def model_config(model: Any, arch: str, charset: str | None = None) -> dict[str, Any]:
    """A recognition config for a registered model built without one (decoder and input from the model)."""
    from textlens.data.charset import Charset
    from textlens.runtime.crops import CropSpec

    spec = CropSpec().to_config()
    if hasattr(model, "input_config"):
        spec.update(model.input_config())
    return {
        "name": arch,
        "family": "recognition",
        "arch": arch,
        "decoder": getattr(model, "decoder", "ctc"),
        "model": {},
        "charset": Charset.from_spec(charset or "latin").chars,
        "input": spec,
    }
