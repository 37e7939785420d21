"""Exporting torch models to ONNX: checked graph, optional int8 quantisation, and torch/ONNX parity.

Uses torch's TorchScript-based exporter (``dynamo=False``): it needs nothing beyond torch and
traces the eval-mode forward pass, so attention decoders' fixed-length greedy loops are unrolled
into the graph. The graph takes ``images`` (N×C×H×W float, normalised; batch and width dynamic,
width static for ``parallel`` decoders) and returns ``logits`` (N×T×K).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from textlens.data.charset import DecoderKind
from textlens.errors import AnnotationError, ConfigError, ModelError
from textlens.runtime.crops import CropSpec

INPUT_NAME = "images"
OUTPUT_NAME = "logits"
DEFAULT_OPSET = 17
# Dynamic int8 quantisation: the ops whose weights dominate recognisers (LSTM, linear layers,
# attention). Convolutions stay fp32: onnxruntime's ConvInteger kernel is slower than fp32 Conv on CPU.
DYNAMIC_INT8_OPS = ("MatMul", "LSTM", "Attention", "Gather")
CALIBRATION_SAMPLES = 200
# Largest logit difference accepted when checking that a dynamic-width graph works at another width.
WIDTH_CHECK_TOLERANCE = 1e-3


def _torch() -> Any:
    import torch

    return torch


def input_spec(config: dict[str, Any]) -> CropSpec:
    return CropSpec.from_config(config.get("input", {}))


def example_input(config: dict[str, Any], batch: int = 2, width: int | None = None) -> Any:
    """A random N×C×H×W tensor of the shape the model takes (its fixed width for ``parallel`` models)."""
    torch = _torch()
    spec = input_spec(config)
    if width is None:
        fixed = DecoderKind.from_config(config) is DecoderKind.PARALLEL
        width = spec.max_width if fixed else max(spec.min_width, 4 * spec.height)
    generator = torch.Generator().manual_seed(0)
    return torch.randn(batch, spec.channels, spec.height, width, generator=generator)


def _logits_only(model: Any) -> Any:
    """Wrap a model whose forward returns ``{"logits": ...}`` so the graph has one plain output."""
    torch = _torch()

    class LogitsOnly(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, images: Any) -> Any:
            out = self.inner(images)
            return out[OUTPUT_NAME] if isinstance(out, dict) else out

    return LogitsOnly(model)


@contextmanager
def _quiet_export() -> Iterator[None]:
    """Silence the exporter's deprecation and tracer notes (about torch internals, not the model)."""
    torch = _torch()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.simplefilter("ignore", category=UserWarning)
        warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
        yield


def _tmp_next_to(path: Path, suffix: str) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}{suffix}")


def export_onnx(
    model: Any,
    config: dict[str, Any],
    path: str | Path,
    opset: int = DEFAULT_OPSET,
    dynamic_width: bool = True,
    int8: bool = False,
    calib: str | Path | None = None,
) -> Path:
    """Export ``model`` to ``path`` (checked with onnx.checker), optionally quantised to int8.

    ``int8`` applies dynamic quantisation (weights int8, activations quantised on the fly);
    ``calib`` (a crops manifest) applies static quantisation calibrated on its images instead.
    The file at ``path`` is replaced atomically.
    """
    import onnx

    torch = _torch()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dynamic_width = dynamic_width and DecoderKind.from_config(config) is not DecoderKind.PARALLEL
    axes: dict[str, dict[int, str]] = {INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch", 1: "steps"}}
    if dynamic_width:
        axes[INPUT_NAME][3] = "width"
    was_training = model.training
    model.eval()
    fp32 = _tmp_next_to(path, ".fp32.onnx")
    example = example_input(config, width=None if dynamic_width else input_spec(config).max_width)
    try:
        with torch.no_grad(), _quiet_export():
            torch.onnx.export(
                _logits_only(model),
                (example,),
                str(fp32),
                dynamo=False,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_axes=axes,
                opset_version=opset,
                do_constant_folding=True,
            )
        onnx.checker.check_model(str(fp32))
        if dynamic_width:
            _check_other_width(model, fp32, config, int(example.shape[3]), path)
        if int8 or calib is not None:
            quantize(fp32, path, calib=calib, config=config)
        else:
            os.replace(fp32, path)
    except onnx.checker.ValidationError as exc:
        raise ModelError(f"the exported graph does not pass onnx.checker ({exc})", path) from exc
    finally:
        fp32.unlink(missing_ok=True)
        model.train(was_training)
    return path


def _check_other_width(model: Any, onnx_path: Path, config: dict[str, Any], traced: int, target: Path) -> None:
    """Fail if the graph only works at the traced width (a tracer can bake shapes in as constants)."""
    spec = input_spec(config)
    other = traced + 3 * max(spec.width_multiple, 4) * 4
    try:
        diff = check_parity(model, onnx_path, example_input(config, batch=3, width=other)).max_abs_diff
    except Exception as exc:  # onnxruntime's errors derive from Exception only
        diff, reason = float("inf"), f"it fails ({str(exc).splitlines()[0][:300]})"
    else:
        reason = f"its logits differ from torch by {diff:.3g}"
    if not diff <= WIDTH_CHECK_TOLERANCE:
        raise ModelError(
            f"the graph was traced at width {traced} and does not work at width {other}: "
            f"{reason}; the model bakes the input width into the trace. Export it with a static "
            "width (dynamic_width=False, CLI --static-width) or make the model trace-friendly",
            target,
        )


def quantize(
    src: str | Path, dst: str | Path, calib: str | Path | None = None, config: dict[str, Any] | None = None
) -> Path:
    """int8-quantise an ONNX model: dynamic by default, static (QDQ) when a calibration manifest is given."""
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static

    src, dst = Path(src), Path(dst)
    tmp = _tmp_next_to(dst, ".int8.onnx")
    try:
        if calib is None:
            quantize_dynamic(src, tmp, op_types_to_quantize=list(DYNAMIC_INT8_OPS), weight_type=QuantType.QInt8)
        else:
            if config is None:
                raise ConfigError("static quantisation needs the model config (input size, normalisation)")
            fixed = DecoderKind.from_config(config) is DecoderKind.PARALLEL
            reader = _calibration_reader(Path(calib), input_spec(config), fixed)
            quantize_static(
                src,
                tmp,
                reader,
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
            )
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
        # quantize_static leaves an augmented copy of the model next to the output.
        for leftover in dst.parent.glob(f".{dst.name}.*-augmented.onnx"):
            leftover.unlink(missing_ok=True)
    return dst


def _calibration_reader(manifest: Path, spec: CropSpec, fixed_width: bool) -> Any:
    """Feeds the first crops of a manifest, prepared like the runtime prepares them, one at a time."""
    from onnxruntime.quantization import CalibrationDataReader

    from textlens.data.manifest import read_manifest
    from textlens.runtime.crops import prepare_crop

    if fixed_width:
        import dataclasses

        spec = dataclasses.replace(spec, min_width=spec.max_width)
    records = read_manifest(manifest, limit=CALIBRATION_SAMPLES)
    if not records:
        raise AnnotationError("the calibration manifest has no crops", manifest)

    class ManifestReader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter(records)

        def get_next(self) -> dict[str, np.ndarray] | None:
            record = next(self.items, None)
            if record is None:
                return None
            return {INPUT_NAME: prepare_crop(record.load_image(), spec)[None]}

    return ManifestReader()


# ---------------------------------------------------------------------------------------------------------
# Parity


@dataclass(frozen=True)
class Parity:
    """How closely an ONNX export matches its torch model on the same inputs."""

    max_abs_diff: float
    texts_equal: bool
    torch_texts: tuple[str, ...] = ()
    onnx_texts: tuple[str, ...] = ()
    mismatches: tuple[int, ...] = field(default=())


def decode_logits(logits: np.ndarray, config: dict[str, Any]) -> list[str]:
    """Greedy texts of a batch of logits, with the decoder the config names."""
    from textlens.data.charset import CTCTokenizer, tokenizer_for
    from textlens.runtime.ctc import attention_decode, greedy_decode, softmax

    tokenizer = tokenizer_for(config["charset"], DecoderKind.from_config(config))
    probs = softmax(logits.astype(np.float32))
    decode = greedy_decode if isinstance(tokenizer, CTCTokenizer) else attention_decode
    return [decode(p, tokenizer).text for p in probs]


def check_parity(model: Any, onnx_path: str | Path, inputs: Any, config: dict[str, Any] | None = None) -> Parity:
    """Run torch and onnxruntime on the same N×C×H×W ``inputs``; compare logits and (given a config) texts."""
    from textlens.runtime.session import create_session

    torch = _torch()
    batch = (
        inputs.detach().cpu().float()
        if isinstance(inputs, torch.Tensor)
        else torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32))
    )
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = model(batch)
    model.train(was_training)
    expected = (out[OUTPUT_NAME] if isinstance(out, dict) else out).float().numpy()
    session = create_session(onnx_path, threads=1)
    got = session.run(None, {session.get_inputs()[0].name: batch.numpy()})[0]
    if got.shape != expected.shape:
        raise ModelError(f"ONNX logits have shape {got.shape}, torch gives {expected.shape}", onnx_path)
    diff = float(np.abs(got.astype(np.float32) - expected).max()) if expected.size else 0.0
    if config is None:
        return Parity(diff, True)
    torch_texts, onnx_texts = decode_logits(expected, config), decode_logits(got, config)
    mismatches = tuple(i for i, (a, b) in enumerate(zip(torch_texts, onnx_texts, strict=True)) if a != b)
    return Parity(diff, not mismatches, tuple(torch_texts), tuple(onnx_texts), mismatches)


def prepared_batch(crops: Sequence[np.ndarray], config: dict[str, Any], fixed_width: int | None = None) -> np.ndarray:
    """Crops prepared as the runtime prepares them, padded to one N×C×H×W batch (for parity checks).

    ``fixed_width`` (a static-width graph; implied for ``parallel`` decoders) pads every crop to it.
    """
    import dataclasses

    from textlens.runtime.crops import pad_batch, prepare_crop

    spec = input_spec(config)
    if DecoderKind.from_config(config) is DecoderKind.PARALLEL:
        fixed_width = fixed_width or spec.max_width
    if fixed_width is not None:
        spec = dataclasses.replace(spec, max_width=fixed_width, min_width=min(spec.min_width, fixed_width))
    return pad_batch([prepare_crop(c, spec) for c in crops], spec, width=fixed_width)
