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
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also list bundled models.")] = False,
) -> None:
    """Print the textlens version."""
    typer.echo(f"textlens {__version__}")
    if verbose:
        from textlens.runtime.loading import available_models

        typer.echo("bundled models: " + (", ".join(available_models()) or "none"))


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
