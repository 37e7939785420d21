"""Smaller trust fixes: a non-UTF-8 manifest is one ``file:line`` error, the core install (no torch, no lmdb)
says which extra a command needs, and ``data convert`` refuses image paths leading out of the dataset."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from textlens.cli.app import app
from textlens.data.manifest import read_manifest
from textlens.errors import AnnotationError

runner = CliRunner()
TRAIN_EXTRA_HINT = "needs the train extra: pip install textlens[train]"


def one_line(text: str) -> str:
    return " ".join(text.split())


def write_png(path: Path, width: int = 30, height: int = 10) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((height, width, 3), 200, np.uint8)).save(path)
    return path


# ---------------------------------------------------------------- a manifest that is not UTF-8


@pytest.fixture
def latin1_manifest(tmp_path: Path) -> Path:
    """Line 2 holds 'café' in Latin-1: the byte 0xe9 is not UTF-8."""
    path = tmp_path / "m.jsonl"
    path.write_bytes(b'{"image": "a.png", "text": "ok"}\n{"image": "b.png", "text": "caf\xe9"}\n')
    return path


def test_eval_rec_on_a_non_utf8_manifest_is_one_error_naming_file_and_line(latin1_manifest: Path) -> None:
    result = runner.invoke(app, ["eval", "rec", "--manifest", str(latin1_manifest)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    assert lines[0].startswith(f"error {latin1_manifest}:2: not UTF-8 text") and "0xe9" in lines[0]


def test_read_manifest_names_the_line_that_is_not_utf8(latin1_manifest: Path) -> None:
    with pytest.raises(AnnotationError, match=r"m\.jsonl:2: not UTF-8"):
        read_manifest(latin1_manifest)
    assert len(read_manifest(latin1_manifest, limit=1)) == 1  # the lines before it still read


def test_eval_score_names_the_prediction_line_that_is_not_utf8(tmp_path: Path) -> None:
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{"image": "a.png", "text": "ok"}\n', encoding="utf-8")
    pred = tmp_path / "pred.jsonl"
    pred.write_bytes(b'{"image": "a.png", "pred": "\xff"}\n')
    result = runner.invoke(app, ["eval", "score", "--manifest", str(manifest), "--pred", str(pred)])
    assert result.exit_code == 1 and f"{pred}:1: not UTF-8" in one_line(result.output)


def test_data_convert_of_a_non_utf8_manifest_names_file_and_line(latin1_manifest: Path, tmp_path: Path) -> None:
    write_png(tmp_path / "a.png")
    result = runner.invoke(app, ["data", "convert", "--from", "manifest", str(latin1_manifest), str(tmp_path / "o")])
    assert result.exit_code == 1 and f"{latin1_manifest}:2: not UTF-8" in one_line(result.output)


def test_a_manifest_saved_with_a_byte_order_mark_reads(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_bytes('\ufeff{"image": "a.png", "text": "é"}\n'.encode())
    assert [r.text for r in read_manifest(path)] == ["é"]


# ---------------------------------------------------------------- the core install: no torch, no lmdb

# Modules only the train extra installs; None in sys.modules makes their import fail as if absent.
CORE_INSTALL = textwrap.dedent("""
    import json, sys
    for name in ("torch", "pytorch_lightning", "lightning_fabric", "lmdb", "safetensors", "onnx", "scipy", "h5py"):
        sys.modules[name] = None
    from typer.testing import CliRunner
    from textlens.cli.app import app
    results = {}
    for key, args in json.loads(sys.argv[1]).items():
        result = CliRunner().invoke(app, args)
        results[key] = [result.exit_code, result.output, repr(result.exception)]
    print(json.dumps(results))
""")


@pytest.fixture(scope="module")
def core_install(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every command of interest run once, in one interpreter that has no train-extra module."""
    tmp = tmp_path_factory.mktemp("core")
    (tmp / "digits.jsonl").write_text('{"image": "d.png", "label": "7"}\n', encoding="utf-8")
    (tmp / "db").mkdir()
    (tmp / "db" / "data.mdb").write_bytes(b"")  # looks like an LMDB store: opening it needs lmdb
    cases = {
        "synth_manifest": ["synth", "lines", "-n", "2", "-o", str(tmp / "lines"), "--preset", "scan"],
        "synth_lmdb": ["synth", "lines", "-n", "1", "-o", str(tmp / "lmdb"), "--format", "lmdb"],
        "eval_digits": ["eval", "digits", "--manifest", str(tmp / "digits.jsonl"), "--model", "ram_mnist"],
        "glimpse_show": ["glimpse", "show", str(tmp / "d.png"), "--model", "ram_mnist", "-o", str(tmp / "p.png")],
        "glimpse_eval": ["glimpse", "eval", "--model", "ram_mnist"],
        "glimpse_average": ["glimpse", "average", str(tmp), str(tmp), "-o", str(tmp / "soup")],
        "glimpse_train": ["train", "glimpse", "--out", str(tmp / "run")],
        "export_onnx": ["export", "onnx", "--model", "crnn_fast", "-o", str(tmp / "m.onnx")],
        "data_convert_lmdb": ["data", "convert", "--from", "lmdb", str(tmp / "db"), str(tmp / "converted")],
    }
    done = subprocess.run(
        [sys.executable, "-c", CORE_INSTALL, json.dumps(cases)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout.strip().splitlines()[-1])
    return {"tmp": tmp, **results}


def test_synth_lines_as_a_manifest_needs_neither_lmdb_nor_torch(core_install: dict[str, Any]) -> None:
    code, output, exception = core_install["synth_manifest"]
    assert code == 0, output + exception
    assert len(read_manifest(core_install["tmp"] / "lines" / "manifest.jsonl")) == 2


@pytest.mark.parametrize(
    ("case", "module"),
    [
        ("synth_lmdb", "lmdb"),
        ("eval_digits", "torch"),
        ("glimpse_show", "torch"),
        ("glimpse_eval", "torch"),
        ("glimpse_average", "torch"),
        ("glimpse_train", "torch"),  # the first train-extra module the glimpse trainer imports
        ("export_onnx", "torch"),
        ("data_convert_lmdb", "lmdb"),
    ],
)
def test_without_the_train_extra_a_command_says_so_and_exits_2(
    case: str, module: str, core_install: dict[str, Any]
) -> None:
    code, output, exception = core_install[case]
    message = one_line(output)
    assert code == 2, output + exception
    assert TRAIN_EXTRA_HINT in message and f"no module '{module}'" in message
    assert "Traceback" not in output and len(output.strip().splitlines()) == 1


def test_without_lmdb_no_lmdb_output_folder_is_left(core_install: dict[str, Any]) -> None:
    assert not (core_install["tmp"] / "lmdb").exists()


# ---------------------------------------------------------------- data convert stays inside the dataset


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """An image outside the dataset folder that a crafted annotation points at."""
    return write_png(tmp_path / "private" / "secret.png")


def convert(fmt: str, source: Path, out: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["data", "convert", "--from", fmt, str(source), str(out)])
    return result.exit_code, one_line(result.output)


def word_dataset(folder: Path, name: str) -> Path:
    write_png(folder / "word_1.png")
    (folder / "gt.txt").write_text(f'word_1.png, "fine"\n{name}, "stolen"\n', encoding="utf-8")
    return folder


@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink"])
def test_convert_refuses_an_annotation_path_leading_out_of_the_dataset(how: str, secret: Path, tmp_path: Path) -> None:
    folder = tmp_path / "words"
    folder.mkdir()
    if how == "symlink":
        (folder / "word_2.png").symlink_to(secret)
    name = {"dotdot": "../private/secret.png", "absolute": str(secret), "symlink": "word_2.png"}[how]
    out = tmp_path / "out"
    code, message = convert("icdar_words", word_dataset(folder, name), out)
    assert code == 1
    assert f"{folder / 'gt.txt'}: image path {name!r} leads outside the dataset folder" in message
    assert not list(out.rglob("*.png"))  # nothing copied, the secret least of all


def test_convert_refuses_an_svt_image_name_leading_out_of_the_dataset(secret: Path, tmp_path: Path) -> None:
    folder = tmp_path / "svt"
    folder.mkdir()
    xml = "<tagset><image><imageName>../private/secret.png</imageName></image></tagset>"
    (folder / "test.xml").write_text(xml, encoding="utf-8")
    code, message = convert("svt", folder, tmp_path / "out")
    assert code == 1 and "test.xml: image path '../private/secret.png' leads outside" in message


def test_convert_refuses_a_page_image_linked_from_outside(secret: Path, tmp_path: Path) -> None:
    folder = tmp_path / "ic15"
    folder.mkdir()
    (folder / "img_1.png").symlink_to(secret)
    (folder / "gt_img_1.txt").write_text("1,1,5,1,5,5,1,5,word\n", encoding="utf-8")
    code, message = convert("icdar2015", folder, tmp_path / "out")
    assert code == 1 and "img_1.png is a link to a file outside the dataset folder" in message


def test_links_inside_the_dataset_and_a_linked_dataset_folder_still_convert(tmp_path: Path) -> None:
    folder = word_dataset(tmp_path / "words", "same/word_1.png")
    (folder / "same").mkdir()
    (folder / "same" / "word_1.png").symlink_to(folder / "word_1.png")
    (tmp_path / "alias").symlink_to(folder, target_is_directory=True)
    code, message = convert("icdar_words", tmp_path / "alias", tmp_path / "out")
    assert code == 0, message
    assert [r.text for r in read_manifest(tmp_path / "out" / "manifest.jsonl")] == ["fine", "stolen"]
