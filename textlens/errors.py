"""The textlens error family: every message names the input and the problem.

Errors are raised where a problem is detected and caught only at the CLI / batch boundary, where
they become one line of the report and an exit code.
"""

from __future__ import annotations

from pathlib import Path


class TextlensError(Exception):
    """Base of every error textlens raises on purpose."""

    def __init__(self, message: str, source: str | Path | None = None) -> None:
        self.source = None if source is None else str(source)
        self.problem = message
        super().__init__(f"{self.source}: {message}" if self.source else message)


class InputError(TextlensError):
    """The input cannot be read as an image or document."""


class FileNotFound(InputError):
    """The path does not exist."""


class NotAFile(InputError):
    """The path is a folder or another non-regular file where a file was expected."""


class UnreadableFile(InputError):
    """The file exists but cannot be opened (permissions, I/O error)."""


class UnsupportedFormat(InputError):
    """The bytes are not a format textlens reads."""


class CorruptImage(InputError):
    """The file claims a supported format but cannot be decoded (truncated, damaged)."""


class ImageTooLarge(InputError):
    """The image is larger than the configured pixel limit (decompression-bomb guard)."""


class ImageTooSmall(InputError):
    """The image is too small to hold readable text."""


class EmptyDocument(InputError):
    """The document has no pages."""


class EncryptedDocument(InputError):
    """The document is password-protected."""


class AnnotationError(InputError):
    """An annotation or manifest file is malformed."""


class ModelError(TextlensError):
    """A model is unknown, missing its weights, or its config does not match."""


class UnknownModel(ModelError):
    """No model of that name is registered."""


class MissingWeights(ModelError):
    """The model has no bundled weights and none were given."""


class OutputError(TextlensError):
    """An output cannot be written."""


class ConfigError(TextlensError):
    """An option or configuration value is invalid."""
