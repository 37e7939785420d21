"""Unix habits of the command line: stdin, document markers, --version, completion, -v / -q through logging,
defaults from the environment and a config file, per-page progress on a terminal (issue 37, item 4)."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from rich.console import Console
from typer.testing import CliRunner

from tests.fakes import InkBlobDetector, WidthRecognizer
from textlens import __version__
from textlens.cli import read as read_cli
from textlens.cli.app import app
from textlens.cli.logs import LOGGER, level_for
from textlens.pipeline import OCR

runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[Any]:
    """Fake models (the CLI mechanics are under test) that record the options they were built with, and no
    TEXTLENS_* variable or config file of the machine's."""
    for name in ("TEXTLENS_CONFIG", "TEXTLENS_LANG", "TEXTLENS_THREADS", "TEXTLENS_FORMAT", "TEXTLENS_JOBS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    built: list[Any] = []

    def build(options: Any) -> OCR:
        built.append(options)
        return OCR(detector=InkBlobDetector(), recognizer=WidthRecognizer())

    monkeypatch.setattr(read_cli, "build_ocr", build)
    yield built
    logging.getLogger(LOGGER).setLevel(logging.NOTSET)


def page(path: Path, width: int = 200) -> Path:
    image = np.full((80, 240, 3), 255, dtype=np.uint8)
    image[20:40, 20 : 20 + width] = 0
    Image.fromarray(image).save(path)
    return path


def png_bytes(width: int = 200) -> bytes:
    image = np.full((80, 240, 3), 255, dtype=np.uint8)
    image[20:40, 20 : 20 + width] = 0
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


# ---------------------------------------------------------------- standard input and output


def test_dash_reads_the_image_from_standard_input() -> None:
    result = runner.invoke(app, ["read", "-"], input=png_bytes())
    assert result.exit_code == 0, result.output
    assert result.stdout == "aaaaa bbbbb\n"


def test_dash_with_a_pdf_on_standard_input_and_json_out(tmp_path: Path) -> None:
    pdf = io.BytesIO()
    Image.open(io.BytesIO(png_bytes())).convert("RGB").save(pdf, format="PDF", resolution=72)
    result = runner.invoke(app, ["read", "-", "-f", "json", "--dpi", "72"], input=pdf.getvalue())
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert len(document["pages"]) == 1 and document["pages"][0]["blocks"]


def test_standard_input_goes_to_stdin_named_files_in_an_output_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["read", "-", str(page(tmp_path / "b.png", 80)), "-o", str(out)], input=png_bytes())
    assert result.exit_code == 0, result.output
    assert (out / "stdin.txt").read_text() == "aaaaa bbbbb\n"
    assert (out / "b.txt").read_text() == "aa bb\n"


def test_bad_bytes_on_standard_input_are_named_stdin_and_fail_with_1() -> None:
    result = runner.invoke(app, ["read", "-"], input=b"")
    assert result.exit_code == 1
    assert "error <stdin>: empty file (0 bytes)" in result.stderr
    result = runner.invoke(app, ["read", "-"], input=b"this is not an image at all")
    assert result.exit_code == 1 and "error <stdin>: " in result.stderr and "<bytes>" not in result.stderr


def test_standard_input_read_twice_is_a_usage_error() -> None:
    result = runner.invoke(app, ["read", "-", "-"], input=png_bytes())
    assert result.exit_code == 2
    assert "standard input" in result.stderr


def test_a_terminal_on_standard_input_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal())
    with pytest.raises(Exception, match="nothing is piped in"):
        read_cli.read_stdin()


def test_stdin_to_stdout_pipe_with_dash_o_dash() -> None:
    result = runner.invoke(app, ["read", "-", "-o", "-", "-f", "tsv"], input=png_bytes())
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("level\tpage_num")


# ---------------------------------------------------------------- markers between documents


def test_several_inputs_to_stdout_are_marked_like_head(tmp_path: Path) -> None:
    a, b = page(tmp_path / "a.png"), page(tmp_path / "b.png", 80)
    result = runner.invoke(app, ["read", str(a), "-", str(b)], input=png_bytes(120))
    assert result.exit_code == 0, result.output
    assert result.stdout == (f"==> {a} <==\naaaaa bbbbb\n\n==> standard input <==\naaa bbb\n\n==> {b} <==\naa bb\n")


def test_one_input_and_files_in_a_folder_have_no_marker(tmp_path: Path) -> None:
    result = runner.invoke(app, ["read", str(page(tmp_path / "a.png"))])
    assert result.stdout == "aaaaa bbbbb\n"
    out = tmp_path / "out"
    result = runner.invoke(app, ["read", str(tmp_path / "a.png"), str(page(tmp_path / "b.png")), "-o", str(out)])
    assert result.exit_code == 0 and result.stdout == ""
    assert (out / "a.txt").read_text() == "aaaaa bbbbb\n"


# ---------------------------------------------------------------- version, completion


def test_version_option_prints_the_package_version_and_bundled_models() -> None:
    from textlens.models.bundle import bundled_names

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    first, second = result.stdout.splitlines()
    assert first == f"textlens {__version__}"
    assert second == "bundled models: " + (", ".join(bundled_names()) or "none")


def test_shell_completion_is_on() -> None:
    result = runner.invoke(app, ["--help"])
    assert "--install-completion" in result.stdout and "--show-completion" in result.stdout
    script = runner.invoke(app, ["--show-completion", "bash"], prog_name="textlens")
    assert script.exit_code == 0
    assert "_TEXTLENS_COMPLETE" in script.stdout and "complete" in script.stdout


# ---------------------------------------------------------------- -v / -q through logging


@pytest.mark.parametrize(
    ("verbose", "quiet", "level"),
    [(0, False, logging.WARNING), (1, False, logging.INFO), (2, False, logging.DEBUG), (2, True, logging.ERROR)],
)
def test_levels_of_the_flags(verbose: int, quiet: bool, level: int) -> None:
    assert level_for(verbose, quiet) == level


def test_verbose_logs_each_input_and_debug_each_page(tmp_path: Path) -> None:
    path = page(tmp_path / "a.png")
    plain = runner.invoke(app, ["read", str(path)])
    assert "info" not in plain.stderr
    info = runner.invoke(app, ["-v", "read", str(path)])
    assert f"info {path}: 1 pages, 2 words" in info.stderr
    assert "page 1 of 1" not in info.stderr
    debug = runner.invoke(app, ["read", "-vv", str(path)])  # after the command too
    assert "debug textlens.cli.read" in debug.stderr and f"{path}: page 1 of 1, 2 words" in debug.stderr
    assert debug.stdout == plain.stdout == "aaaaa bbbbb\n"  # standard output never changes


def test_library_loggers_are_children_of_textlens_and_configure_nothing() -> None:
    import textlens.runtime.loading as loading

    assert loading.log.name == "textlens.runtime.loading" and read_cli.log.name == "textlens.cli.read"
    assert not loading.log.handlers and not read_cli.log.handlers
    assert any(isinstance(h, logging.NullHandler) for h in logging.getLogger(LOGGER).handlers)


def test_quiet_keeps_errors_and_exit_codes_and_drops_warnings_and_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def warned(options: Any) -> OCR:
        ocr = OCR(detector=InkBlobDetector(), recognizer=WidthRecognizer())
        ocr.language_warning = "--lang xx (Test): no bundled recogniser reads q"
        return ocr

    monkeypatch.setattr(read_cli, "build_ocr", warned)
    good, missing = page(tmp_path / "a.png"), tmp_path / "missing.png"
    loud = runner.invoke(app, ["read", str(good), str(missing)])
    assert loud.exit_code == 1
    assert "warning --lang xx (Test): no bundled recogniser reads q" in loud.stderr
    assert f"error {missing}: no such file" in loud.stderr and "1 done, 1 failed" in loud.stderr
    for args in (["-q", "read"], ["read", "-q"]):
        quiet = runner.invoke(app, [*args, str(good), str(missing)])
        assert quiet.exit_code == 1
        assert quiet.stderr.strip() == f"error {missing}: no such file"
        assert quiet.stdout == loud.stdout


# ---------------------------------------------------------------- defaults: CLI > environment > file > built-in


def test_defaults_come_from_the_environment_then_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: list[Any]
) -> None:
    path = page(tmp_path / "a.png")
    config = tmp_path / "xdg" / "textlens" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[read]\nlang = "fr"\nthreads = 3\nformat = "tsv"\nmin_confidence = 0.2\n')

    def effective(*args: str) -> Any:
        result = runner.invoke(app, ["read", str(path), *args])
        assert result.exit_code == 0, result.output
        return isolated[-1]

    options = effective()  # the file (found through $XDG_CONFIG_HOME)
    assert (options.lang, options.threads, options.formats, options.min_confidence) == ("fr", 3, ("tsv",), 0.2)
    monkeypatch.setenv("TEXTLENS_LANG", "de")
    monkeypatch.setenv("TEXTLENS_THREADS", "1")
    options = effective()  # the environment over the file; the rest of the file still applies
    assert (options.lang, options.threads, options.formats) == ("de", 1, ("tsv",))
    options = effective("--lang", "pl", "--threads", "2", "-f", "text")  # the command line over both
    assert (options.lang, options.threads, options.formats) == ("pl", 2, ("text",))
    config.unlink()
    monkeypatch.delenv("TEXTLENS_LANG")
    monkeypatch.delenv("TEXTLENS_THREADS")
    options = effective()  # built-in
    assert (options.lang, options.threads, options.formats, options.min_confidence) == (None, None, ("text",), 0.6)


def test_textlens_config_names_the_file_and_mistakes_in_it_are_usage_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: list[Any]
) -> None:
    path = page(tmp_path / "a.png")
    config = tmp_path / "mine.toml"
    config.write_text('[read]\nrecognizer = "crnn_fast"\njobs = 1\n')
    monkeypatch.setenv("TEXTLENS_CONFIG", str(config))
    assert runner.invoke(app, ["read", str(path)]).exit_code == 0
    assert isolated[-1].recognizer == "crnn_fast"
    for text, expected in (
        ('[read]\nlanguage = "fr"\n', "unknown setting language in [read]; known: format, lang"),
        ('lang = "fr"\n', "settings go in a [read] table"),
        ("[read\n", "not a readable TOML file"),
    ):
        config.write_text(text)
        result = runner.invoke(app, ["read", str(path)])
        assert result.exit_code == 2, text
        assert f"usage error {config}: " in result.stderr and expected in result.stderr
    monkeypatch.setenv("TEXTLENS_CONFIG", str(tmp_path / "none.toml"))
    result = runner.invoke(app, ["read", str(path)])
    assert result.exit_code == 2 and "no such config file" in result.stderr
    assert runner.invoke(app, ["languages"]).exit_code == 0  # other commands do not read it


def test_a_bad_environment_value_is_a_usage_error_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEXTLENS_THREADS", "many")
    result = runner.invoke(app, ["read", str(page(tmp_path / "a.png"))])
    assert result.exit_code == 2
    assert "TEXTLENS_THREADS" in result.output


def test_help_names_the_environment_variables() -> None:
    result = runner.invoke(app, ["read", "--help"], env={"COLUMNS": "200"})
    for name in ("TEXTLENS_LANG", "TEXTLENS_THREADS", "TEXTLENS_FORMAT", "TEXTLENS_RECOGNIZER"):
        assert name in result.stdout


# ---------------------------------------------------------------- per-page progress


def three_page_tiff(path: Path) -> Path:
    frames = [Image.open(io.BytesIO(png_bytes(w))) for w in (200, 120, 80)]
    frames[0].save(path, save_all=True, append_images=frames[1:])
    return path


def test_page_progress_shows_on_a_terminal_only_and_not_with_quiet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiff = three_page_tiff(tmp_path / "doc.tif")
    screen = io.StringIO()
    monkeypatch.setattr(read_cli, "console", Console(file=screen, force_terminal=True, highlight=False, width=200))
    result = runner.invoke(app, ["read", str(tiff)])
    assert result.exit_code == 0, result.output
    shown = screen.getvalue()
    assert all(f"{tiff}: page {i} of 3" in shown for i in (1, 2, 3))
    assert shown.endswith("\r\x1b[2K")  # the line is cleared before the text is printed
    assert result.stdout.count("\n") >= 3

    screen.truncate(0)
    screen.seek(0)
    assert runner.invoke(app, ["read", "-q", str(tiff)]).exit_code == 0
    assert screen.getvalue() == ""
    monkeypatch.setattr(read_cli, "console", Console(file=screen, force_terminal=False))
    assert runner.invoke(app, ["read", str(tiff)]).exit_code == 0
    assert screen.getvalue() == ""  # piped stderr: no progress
