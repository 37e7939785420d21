"""``textlens export``: torch models to ONNX files (``onnx``) and to runtime bundle folders (``bundle``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from textlens.cli.common import EXIT_SOME_FAILED, console, fail
from textlens.errors import ConfigError, MissingWeights, TextlensError
from textlens.models.registry import require_torch

app = typer.Typer(help="Export trained models for the torch-free runtime.", no_args_is_help=True)

# The options every command that writes a bundle takes.
BundleOutput = Annotated[Path, typer.Option("--output", "-o", help="Bundle folder to write.")]
BundleName = Annotated[str | None, typer.Option(help="Model name (default: the output folder's name).")]
BundleDefault = Annotated[
    bool | None, typer.Option("--default/--no-default", help="Mark as its family's default model.")
]
BundleOpset = Annotated[int, typer.Option(help="ONNX opset.")]

# fp32 ONNX must match torch this closely (max abs logit difference) for a bundle to be accepted.
PARITY_TOLERANCE = 1e-3


def _build(model_name: str, checkpoint: Path | None, random_weights: bool) -> tuple[Any, dict[str, Any]]:
    """The torch model and its config: from a model folder, a weights file, bundled weights, or random."""
    from textlens.export.bundle import load_model_folder, model_config
    from textlens.models.registry import create_model, get_spec, load_config

    if checkpoint is not None and checkpoint.is_dir():
        return load_model_folder(checkpoint)
    if checkpoint is not None:
        model = create_model(model_name, checkpoint=checkpoint)
        return model.eval(), model_config(model, model_name)
    if get_spec(model_name).has_weights:
        model = create_model(model_name, pretrained=True)
        return model.eval(), {**model_config(model, model_name), **load_config(model_name)}
    if not random_weights:
        raise MissingWeights(
            f"model {model_name!r} has no bundled weights: give --checkpoint, or --random "
            "to export untrained weights (for speed tests)"
        )
    model = create_model(model_name)
    return model.eval(), model_config(model, model_name)


@app.command("onnx")
def onnx_command(
    model: Annotated[str, typer.Option("--model", "-m", help="Registered model name.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The .onnx file to write.")],
    checkpoint: Annotated[Path | None, typer.Option(help="Weights file or model folder.")] = None,
    int8: Annotated[bool, typer.Option("--int8", help="Dynamic int8 quantisation.")] = False,
    calib: Annotated[Path | None, typer.Option(help="Crops manifest to calibrate static int8 on.")] = None,
    opset: Annotated[int, typer.Option(help="ONNX opset.")] = 17,
    random_weights: Annotated[bool, typer.Option("--random", help="Allow untrained weights.")] = False,
    static_width: Annotated[
        bool, typer.Option("--static-width", help="Fix the width to the config's max_width.")
    ] = False,
) -> None:
    """Export one model to an ONNX file (input "images" N×C×H×W, output "logits" N×T×K)."""
    from textlens.export.onnx import check_parity, example_input, export_onnx, input_spec

    try:
        require_torch("textlens export onnx")
        torch_model, config = _build(model, checkpoint, random_weights)
        path = export_onnx(
            torch_model, config, output, opset=opset, dynamic_width=not static_width, int8=int8, calib=calib
        )
        width = input_spec(config).max_width if static_width else None
        parity = check_parity(torch_model, path, example_input(config, batch=2, width=width))
    except TextlensError as exc:
        raise fail(exc) from exc
    size = path.stat().st_size / 2**20
    console.print(f"wrote {path} ({size:.1f} MiB); max |logit diff| vs torch: {parity.max_abs_diff:.2e}")


@app.command("bundle")
def bundle_command(
    checkpoint: Annotated[Path, typer.Option(help="Trainer's export folder.")],
    output: BundleOutput,
    weights: Annotated[
        Path | None,
        typer.Option(help="Other weights of the same model, e.g. runs/NAME/last.ckpt (default: the folder's)."),
    ] = None,
    name: BundleName = None,
    default: BundleDefault = None,
    opset: BundleOpset = 17,
) -> None:
    """Write a bundle folder (config.json, fp16 model.safetensors, model.onnx), checking ONNX/torch parity."""
    from textlens.export.bundle import load_model_folder

    try:
        require_torch("textlens export bundle")
        model, config = load_model_folder(checkpoint, weights)
    except TextlensError as exc:
        raise fail(exc) from exc
    _write_bundle(model, config, output, name, default, opset)


@app.command("average")
def average_command(
    folders: Annotated[list[Path], typer.Argument(help="Model folders (bundles or trainer exports) to average.")],
    output: BundleOutput,
    weight: Annotated[
        list[float] | None, typer.Option("--weight", "-w", help="One weight per folder, in order (default: equal).")
    ] = None,
    name: BundleName = None,
    default: BundleDefault = None,
    opset: BundleOpset = 17,
) -> None:
    """Average the weights of models fine-tuned from one start (a "model soup") into a bundle folder.

    The config (input, polarity, charset) is the first folder's. Evaluate the result before using it:
    averaging helps models that share their starting weights and ruins unrelated ones.
    """
    from textlens.export.average import average_folders

    try:
        require_torch("textlens export average")
        model, config = average_folders(folders, weight or None)
        if config.get("family") == "glimpse":  # no ONNX bundle for glimpse models: they keep torch weights
            raise ConfigError(f"{folders[0]} is a glimpse model: use textlens glimpse average")
    except TextlensError as exc:
        raise fail(exc) from exc
    shares = ", ".join(f"{Path(a['source']).name or a['source']} {a['weight']:.2f}" for a in config["averaged_from"])
    console.print(f"averaged {len(folders)} models ({shares})")
    _write_bundle(model, config, output, name, default, opset)


def _write_bundle(
    model: Any, config: dict[str, Any], output: Path, name: str | None, default: bool | None, opset: int
) -> None:
    """Bundle ``model`` at ``output`` and report sizes and ONNX parity; exit 1 on an error or a mismatch."""
    from textlens.export.bundle import bundle

    config["name"] = name or output.name
    if default is not None:
        config["default"] = default
    try:
        report = bundle(model, config, output, opset=opset)
    except TextlensError as exc:
        raise fail(exc) from exc
    sizes = ", ".join(f"{f} {s / 2**20:.1f} MiB" for f, s in report.sizes.items())
    console.print(
        f"wrote {report.folder}: {sizes}; ONNX {report.onnx_dtype}; "
        + (
            f"max |probability-map difference| {report.parity.max_abs_diff:.2e}"
            if config["family"] == "detection"
            else f"max |logit difference| {report.parity.max_abs_diff:.2e}; "
            f"texts {'identical' if report.parity.texts_equal else 'DIFFER'}"
        )
    )
    exact = report.onnx_dtype == "float32"
    if not report.parity.texts_equal or (exact and report.parity.max_abs_diff > PARITY_TOLERANCE):
        console.print("[red]error[/red] the ONNX graph does not match the torch model")
        raise typer.Exit(EXIT_SOME_FAILED)
