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
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, PowerShell)
    pretty_exceptions_show_locals=False,
)

# (module, attribute, name): a function registered as a command, or a typer app added as a group.
COMMANDS: list[tuple[str, str, str]] = [
    ("textlens.cli.read", "read", "read"),
    ("textlens.cli.preprocess", "preprocess", "preprocess"),
    ("textlens.cli.recognize", "recognize", "recognize"),
    ("textlens.cli.languages", "languages", "languages"),
    ("textlens.cli.models", "models", "models"),
    ("textlens.cli.serve", "serve", "serve"),
    ("textlens.cli.batch", "batch", "batch"),
    ("textlens.cli.studio", "studio", "studio"),
]
GROUPS: list[tuple[str, str, str]] = [
    ("textlens.cli.eval", "app", "eval"),
    ("textlens.cli.train", "app", "train"),
    ("textlens.cli.synth", "app", "synth"),
    ("textlens.cli.data", "app", "data"),
    ("textlens.cli.export", "app", "export"),
    ("textlens.cli.extract", "app", "extract"),
    ("textlens.cli.glimpse", "app", "glimpse"),
    ("textlens.cli.digits", "app", "digits"),
]


def version_text() -> str:
    """``textlens --version``: the package version and the bundled models' names (read from folder names only)."""
    from textlens.models.bundle import WEIGHTS_ROOT

    names = sorted(
        p.name
        for p in (WEIGHTS_ROOT.iterdir() if WEIGHTS_ROOT.is_dir() else ())
        if not p.name.startswith((".", "_")) and (p / "config.json").is_file()
    )
    return f"textlens {__version__}\nbundled models: {', '.join(names) or 'none'}"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(version_text())
        raise typer.Exit()


@app.callback()
def _options(
    ctx: typer.Context,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More on standard error: -v info, -vv debug.")
    ] = 0,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only errors on standard error (no warnings, progress, summary).")
    ] = False,
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and the bundled models."
        ),
    ] = False,
) -> None:
    """textlens: deep-learning OCR — read, train, evaluate.

    Defaults of `textlens read` come from TEXTLENS_* environment variables and ~/.config/textlens/config.toml
    (see `textlens read --help`); the command line wins over both.
    """
    from textlens.cli.logs import level_for, setup_logging

    setup_logging(level_for(verbose, quiet))
    if ctx.invoked_subcommand == "read":
        from rich.markup import escape

        from textlens.cli.common import EXIT_USAGE, console
        from textlens.cli.settings import load_defaults
        from textlens.errors import ConfigError

        try:
            ctx.default_map = {**(ctx.default_map or {}), **load_defaults()}
        except ConfigError as exc:
            console.print(f"[red]usage error[/red] {escape(str(exc))}", soft_wrap=True)
            raise typer.Exit(EXIT_USAGE) from exc


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
