"""One exit-code convention for every command: usage errors exit 2, data/model/output failures exit 1."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import typer
from rich.console import Console

from textlens import errors
from textlens.cli.common import EXIT_SOME_FAILED, EXIT_USAGE, exit_code_for, fail


def _all_subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_all_subclasses(sub)]
    return found


ERROR_CLASSES = [errors.TextlensError, *_all_subclasses(errors.TextlensError)]


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_every_error_class_has_one_exit_code(cls: type[errors.TextlensError]) -> None:
    expected = EXIT_USAGE if issubclass(cls, errors.ConfigError) else EXIT_SOME_FAILED
    assert exit_code_for(cls("x")) == expected


def test_fail_prints_the_message_unmangled_and_returns_the_matching_exit() -> None:
    buffer = io.StringIO()
    to = Console(file=buffer, width=200, color_system=None)
    exit_ = fail(errors.AnnotationError("labels [a] in /tmp/x.jsonl:3 are malformed"), to)
    assert isinstance(exit_, typer.Exit) and exit_.exit_code == EXIT_SOME_FAILED
    # rich markup in the message ([a]) is printed literally, not swallowed as a style tag
    assert buffer.getvalue().strip() == "error labels [a] in /tmp/x.jsonl:3 are malformed"
    assert fail(errors.ConfigError("bad --opt"), to).exit_code == EXIT_USAGE


def test_a_model_folder_with_a_broken_config_is_a_failure_not_a_usage_error(tmp_path: Path) -> None:
    from textlens.export.bundle import load_model_folder

    (tmp_path / "config.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(errors.ModelError, match=r"config\.json is not valid JSON") as caught:
        load_model_folder(tmp_path)
    assert exit_code_for(caught.value) == EXIT_SOME_FAILED
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(errors.ModelError, match="no 'arch'"):
        load_model_folder(tmp_path)
