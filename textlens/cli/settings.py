"""Defaults of ``textlens read`` from environment variables and a config file.

One scheme, for a fixed set of settings (:data:`SETTINGS`): each has an option of ``textlens read``, an
environment variable ``TEXTLENS_<NAME>`` and a key ``<name>`` in the ``[read]`` table of the config file::

    # ~/.config/textlens/config.toml   ($XDG_CONFIG_HOME/textlens/config.toml; $TEXTLENS_CONFIG names another)
    [read]
    lang = "fr"
    threads = 2
    format = "text,json"

The first that is set wins: the command line, then the environment, then the file, then textlens's own default.
The environment variables are declared on the options (``textlens read --help`` shows them); the file becomes
the command's ``default_map`` (click's, which sits between the environment and the built-in default). An
unknown key, a table other than ``[read]`` or a file that is not TOML is a usage error (exit 2) naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from textlens.errors import ConfigError

# config key -> (the option's parameter name in textlens.cli.read.read, the environment variable)
SETTINGS: dict[str, tuple[str, str]] = {
    "format": ("fmt", "TEXTLENS_FORMAT"),
    "lang": ("lang", "TEXTLENS_LANG"),
    "threads": ("threads", "TEXTLENS_THREADS"),
    "jobs": ("jobs", "TEXTLENS_JOBS"),
    "detector": ("detector", "TEXTLENS_DETECTOR"),
    "recognizer": ("recognizer", "TEXTLENS_RECOGNIZER"),
    "dpi": ("dpi", "TEXTLENS_DPI"),
    "min_confidence": ("min_confidence", "TEXTLENS_MIN_CONFIDENCE"),
}
CONFIG_ENV = "TEXTLENS_CONFIG"


def env(key: str) -> str:
    """The environment variable of a setting (for ``typer.Option(envvar=...)``)."""
    return SETTINGS[key][1]


def config_path() -> Path:
    """``$TEXTLENS_CONFIG``, else ``$XDG_CONFIG_HOME/textlens/config.toml``, else ``~/.config/textlens/config.toml``."""
    given = os.environ.get(CONFIG_ENV)
    if given:
        return Path(given).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "textlens" / "config.toml"


def load_defaults(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """The config file as a click ``default_map`` (``{"read": {param: value}}``); empty when there is no file.

    A ``$TEXTLENS_CONFIG`` that names a missing file is an error (it was asked for); the default location may
    simply not exist."""
    explicit = path is not None or bool(os.environ.get(CONFIG_ENV))
    path = path or config_path()
    if not path.is_file():
        if explicit:
            raise ConfigError(f"{path}: no such config file (${CONFIG_ENV})")
        return {}
    try:
        import tomllib
    except ImportError as exc:  # Python 3.10: the environment variables still work
        raise ConfigError(f"{path}: reading the config file needs Python 3.11 or later (tomllib)") from exc
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable TOML file ({exc})") from exc
    others = sorted(k for k in data if k != "read")
    if others:
        raise ConfigError(f"{path}: unknown table or key {', '.join(others)}; settings go in a [read] table")
    table = data.get("read", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: read must be a table ([read])")
    unknown = sorted(k for k in table if k not in SETTINGS)
    if unknown:
        raise ConfigError(f"{path}: unknown setting {', '.join(unknown)} in [read]; known: {', '.join(SETTINGS)}")
    return {"read": {SETTINGS[key][0]: value for key, value in table.items()}} if table else {}
