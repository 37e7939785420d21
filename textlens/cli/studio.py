"""``textlens studio DIR``: annotate OCR data in the browser and validate models on it (docs/studio.md).

Binds to 127.0.0.1 by default; on any other address a random token is printed in the URL and required of every
request. Ctrl-C or SIGTERM stops it gracefully (every acknowledged edit is already on disk).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from textlens.cli.common import EXIT_USAGE, console
from textlens.io.limits import DEFAULT_MAX_PIXELS


def studio(
    folder: Annotated[Path, typer.Argument(help="The folder of page images; its manifest.jsonl holds the labels.")],
    host: Annotated[str, typer.Option(help="Address to listen on (not loopback: a token guards it).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on (0: any free port).")] = 8765,
    max_upload: Annotated[int, typer.Option(min=1, help="Largest uploaded image, in bytes (413 above).")] = (
        50 * 1024 * 1024
    ),
    max_pixels: Annotated[int, typer.Option(min=1, help="Largest page, in pixels.")] = DEFAULT_MAX_PIXELS,
    threads: Annotated[int | None, typer.Option(min=1, help="onnxruntime threads for the pre-labels.")] = None,
) -> None:
    """Annotate page images in the browser with model pre-labels, and validate models against the labels."""
    from rich.markup import escape

    if not folder.is_dir():
        console.print(f"[red]usage error[/red] {escape(str(folder))}: not a folder", soft_wrap=True)
        raise typer.Exit(EXIT_USAGE)
    try:
        from textlens.studio.server import run_studio
    except ImportError as exc:
        message = f"textlens studio needs the studio extra: pip install 'textlens[studio]' ({exc})"
        console.print(f"[red]error[/red] {escape(message)}", soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from exc
    from textlens.errors import TextlensError

    try:
        run_studio(
            folder,
            host=host,
            port=port,
            announce=lambda line: print(line, flush=True),
            max_upload=max_upload,
            max_pixels=max_pixels,
            threads=threads,
        )
    except TextlensError as exc:
        console.print(f"[red]error[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from exc
