"""The ``textlens`` command: one typer app, one module per command group."""

from __future__ import annotations

import importlib
import sys
from typing import Annotated

import typer

from textlens import __version__

app = typer.Typer(
    name="textlens",
    help="textlens: deep-learning OCR — read, train, evaluate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

# (module, attribute, name): a function registered as a command, or a typer app added as a group.
COMMANDS: list[tuple[str, str, str]] = [
    ("textlens.cli.read", "read", "read"),
    ("textlens.cli.preprocess", "preprocess", "preprocess"),
    ("textlens.cli.recognize", "recognize", "recognize"),
    ("textlens.cli.languages", "languages", "languages"),
]
GROUPS: list[tuple[str, str, str]] = [
    ("textlens.cli.eval", "app", "eval"),
    ("textlens.cli.train", "app", "train"),
    ("textlens.cli.synth", "app", "synth"),
    ("textlens.cli.data", "app", "data"),
    ("textlens.cli.export", "app", "export"),
    ("textlens.cli.glimpse", "app", "glimpse"),
]


@app.command()
def version(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also list the bundled models.")] = False,
) -> None:
    """Print the textlens version (-v: and every bundled model: name, family, architecture, files)."""
    typer.echo(f"textlens {__version__}")
    if verbose:
        from textlens.models.bundle import list_bundles

        bundles = list_bundles()
        typer.echo("bundled models:" + ("" if bundles else " none"))
        width = max((len(b.name) for b in bundles), default=0)
        for b in bundles:
            files = ", ".join(f for f, present in (("onnx", b.has_onnx), ("safetensors", b.has_torch)) if present)
            mark = ", default" if b.is_default else ""
            typer.echo(f"  {b.name:<{width}}  {b.family or '?'} ({b.arch or '?'}{mark}): {files or 'no weights'}")


def _register() -> None:
    for module_name, attr, name in COMMANDS:
        module = importlib.import_module(module_name)
        app.command(name)(getattr(module, attr))
    for module_name, attr, name in GROUPS:
        module = importlib.import_module(module_name)
        app.add_typer(getattr(module, attr), name=name)


_register()


def main() -> None:
    """Entry point of the ``textlens`` script."""
    sys.exit(app())
