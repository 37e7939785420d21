"""Writing a model bundle folder: config.json + model.safetensors (fp16) + model.onnx, replaced atomically.

A bundle is what ``textlens.runtime.loading`` opens and what ``create_model(pretrained=True)``
loads (``textlens.models.bundle`` finds and reads it). Committed files must stay under
:data:`MAX_FILE_BYTES`: the ONNX graph is exported from the weights as stored (fp16 values, computed in
fp32), so torch and ONNX hold the same weights, and falls back to dynamic int8 only when the fp32 file is
over the limit (recorded as ``"onnx_dtype": "int8"`` in config.json).
"""

from __future__ import annotations

import copy
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textlens.data.charset import DEFAULT_CHARSET, Charset, DecoderKind, tokenizer_for
from textlens.errors import ConfigError, MissingWeights, ModelError
from textlens.export.onnx import DEFAULT_OPSET, Parity, check_parity, example_input, export_onnx, quantize
from textlens.models.bundle import read_bundle, write_config
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
        config["decoder"] = DecoderKind.from_config(config).value
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
    exceed ``max_bytes`` even after int8 quantisation of the ONNX graph. The graph and the parity check use
    the weights as stored (rounded to fp16), not ``model``'s own, which is left unchanged.
    """
    from textlens.models.serialization import save_weights

    model = _as_stored(model)
    out_dir = Path(out_dir)
    config = complete_config(config, out_dir.name)
    if config["family"] == "recognition":
        _check_classes(model, config, out_dir)
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
        write_config(tmp, config)
        sizes = {f: (tmp / f).stat().st_size for f in BUNDLE_FILES}
        too_big = {f: s for f, s in sizes.items() if s > max_bytes}
        if too_big:
            raise ModelError(f"bundle files over the {max_bytes / 2**20:.0f} MiB limit: {too_big}", out_dir)
        _keep_extra_files(out_dir, tmp)
        _swap(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return BundleReport(out_dir, config["onnx_dtype"], sizes, parity)


def _check_classes(model: Any, config: dict[str, Any], out_dir: Path) -> None:
    """A recogniser's output size must be its config's tokenizer's (charset and decoder kind)."""
    classes = getattr(model, "num_classes", None)
    expected = tokenizer_for(config["charset"], DecoderKind.from_config(config)).num_classes
    if classes is not None and classes != expected:
        raise ConfigError(
            f"the model outputs {classes} classes, but a {DecoderKind.from_config(config)} model over the "
            f"config's charset has {expected}",
            out_dir,
        )


def _as_stored(model: Any) -> Any:
    """A copy of ``model`` whose floating-point weights hold the values an fp16 safetensors file stores."""
    import torch

    stored = copy.deepcopy(model)
    with torch.no_grad():
        for tensor in [*stored.parameters(), *stored.buffers()]:
            if tensor.is_floating_point():
                tensor.copy_(tensor.half().to(tensor.dtype))
    return stored


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
    if not (folder / "config.json").is_file():
        raise MissingWeights("no config.json in the model folder", folder)
    weights = folder / "model.safetensors" if weights is None else Path(weights)
    if not weights.is_file():
        raise MissingWeights("weights file not found", weights)
    config = read_bundle(folder).config
    if config.get("family") in DEFAULT_RUNTIMES:
        check_runtime(config, config["family"], folder)
    arch = config.get("arch")
    if not arch:
        raise ModelError("config.json has no 'arch' (the registered model name)", folder / "config.json")
    model = create_model(arch, checkpoint=weights, **config.get("model", {}))
    model.eval()
    return model, config


def model_config(model: Any, arch: str, charset: str | None = None) -> dict[str, Any]:
    """A recognition config for a registered model built without one (decoder and input from the model)."""
    from textlens.runtime.crops import CropSpec

    spec = CropSpec().to_config()
    if hasattr(model, "input_config"):
        spec.update(model.input_config())
    return {
        "name": arch,
        "family": "recognition",
        "arch": arch,
        "decoder": DecoderKind.parse(getattr(model, "decoder", DecoderKind.CTC)).value,
        "model": {},
        "charset": Charset.from_spec(charset or DEFAULT_CHARSET).chars,
        "input": spec,
    }
