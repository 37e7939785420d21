"""Logging for the command line: the ``textlens`` logger hierarchy on standard error, its level set by -v / -q.

The library logs with ``logging.getLogger(__name__)`` (``textlens.runtime.loading``, ``textlens.cli.read``...)
and never configures handlers (``textlens/__init__.py`` adds only a ``NullHandler``), so a program that imports
textlens decides what it sees. The ``textlens`` command configures one handler here:

| flags | level | what shows |
| --- | --- | --- |
| ``-q`` | ERROR | errors only: warnings, progress and the batch summary are quiet |
| (none) | WARNING | warnings (``warning ...`` lines), errors, progress on a terminal |
| ``-v`` | INFO | also what was loaded and what each input gave (pages, words, seconds) |
| ``-vv`` | DEBUG | also per-page detail and where each message comes from |

Records go through the shared rich console (``textlens.cli.common.console``) so they never tear a progress bar.
"""

from __future__ import annotations

import logging

from rich.markup import escape

LOGGER = "textlens"
_COLOURS = {"DEBUG": "dim", "INFO": "cyan", "WARNING": "yellow", "ERROR": "red", "CRITICAL": "red"}


def level_for(verbose: int = 0, quiet: bool = False) -> int:
    """The level of ``-v`` given ``verbose`` times, or of ``-q`` (which wins)."""
    if quiet:
        return logging.ERROR
    if verbose >= 2:
        return logging.DEBUG
    if verbose == 1:
        return logging.INFO
    return logging.WARNING


class ConsoleHandler(logging.Handler):
    """One line per record on standard error: ``warning <message>`` (the CLI's long-standing form), with the
    logger's name at DEBUG."""

    def emit(self, record: logging.LogRecord) -> None:
        from textlens.cli.common import console

        try:
            level = record.levelname.lower()
            colour = _COLOURS.get(record.levelname, "white")
            where = f" [dim]{escape(record.name)}[/dim]" if self.level <= logging.DEBUG else ""
            console.print(f"[{colour}]{level}[/{colour}]{where} {escape(record.getMessage())}", soft_wrap=True)
        except Exception:  # a broken stderr must never end a batch
            self.handleError(record)


def setup_logging(level: int) -> logging.Logger:
    """Send the ``textlens`` loggers' records at ``level`` and above to standard error (replacing an earlier
    call's handler, so the command line can raise or lower the level after the top-level options)."""
    logger = logging.getLogger(LOGGER)
    for handler in [h for h in logger.handlers if isinstance(h, ConsoleHandler)]:
        logger.removeHandler(handler)
    handler = ConsoleHandler(level)
    logger.addHandler(handler)
    logger.setLevel(level)
    return logger


def current_level() -> int:
    """The level the command line set (WARNING when it set none)."""
    logger = logging.getLogger(LOGGER)
    return logger.level if any(isinstance(h, ConsoleHandler) for h in logger.handlers) else logging.WARNING


def quiet() -> bool:
    """Whether -q is in force (progress and summaries stay off)."""
    return current_level() > logging.WARNING
