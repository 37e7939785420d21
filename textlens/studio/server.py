"""Run the studio under uvicorn until SIGTERM or Ctrl-C, then stop gracefully and return (exit 0).

On a signal uvicorn stops accepting, finishes the requests in flight (every save it acknowledged is already on
disk), and the app's lifespan stops the pre-label thread after the page it is reading.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
from pathlib import Path
from typing import Any

import uvicorn

from textlens.serve.graceful import GracefulServer
from textlens.studio.app import create_app


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (or ``localhost``): only this machine can connect."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def studio_url(host: str, port: int, token: str | None) -> str:
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


def run_studio(
    root: str | Path,
    host: str = "127.0.0.1",
    port: int = 8765,
    announce: Any = print,
    log_level: int = logging.WARNING,
    **options: Any,
) -> None:
    """Serve the studio over ``root`` on ``host:port``; a random token guards every non-loopback address."""
    token = None if is_loopback(host) else secrets.token_urlsafe(24)
    app = create_app(root, token=token, **options)
    config = uvicorn.Config(
        app, host=host, port=port, log_config=None, log_level=log_level, access_log=False, lifespan="on"
    )
    server = GracefulServer(config)
    original_startup = server.startup

    async def startup(sockets: Any = None) -> None:
        await original_startup(sockets)
        if server.started:
            bound = server.servers[0].sockets[0].getsockname()[1] if server.servers else port
            announce(f"textlens studio: {studio_url(host, bound, token)}")

    server.startup = startup  # type: ignore[method-assign]
    server.run()
