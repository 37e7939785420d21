"""`textlens models` lists the bundled models and only those; an architecture without weights is refused with
the bundled names; one's own fine-tuned folder reads like a bundled model (issue 37, item 5)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from textlens.cli.app import app
from textlens.errors import MissingWeights
from textlens.models.bundle import list_bundles

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "sample.png"


def listed() -> list[dict]:
    result = runner.invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_models_lists_exactly_the_bundled_folders() -> None:
    rows = listed()
    bundles = list_bundles()
    assert [r["name"] for r in rows] == [b.name for b in bundles]
    assert "crnn_base" not in {r["name"] for r in rows}  # an architecture is not a model until trained
    for row, bundle in zip(rows, bundles, strict=True):
        assert row["needs_torch"] == (not bundle.onnx.is_file())
        size = sum(p.stat().st_size for p in bundle.folder.iterdir() if p.is_file())
        assert row["size_bytes"] == size > 0
        assert row["task"].startswith(bundle.family)


def test_models_row_of_each_family() -> None:
    rows = {r["name"]: r for r in listed()}
    if "crnn_fast" in rows:
        crnn = rows["crnn_fast"]
        assert crnn["default"] and not crnn["needs_torch"] and crnn["task"] == "recognition"
        assert "en" in crnn["languages"] and "fr" not in crnn["languages"]  # no accented letters in its charset
        assert crnn["reads"].endswith("symbols") and "ic13" in (crnn["headline"] or "")
    if "ram_mnist" in rows:
        assert rows["ram_mnist"]["needs_torch"] and rows["ram_mnist"]["task"] == "glimpse (mnist)"
    if "db_fast" in rows:
        assert rows["db_fast"]["task"] == "detection (db words)" and "F1" in rows["db_fast"]["headline"]


def test_models_table_has_a_line_per_bundle_with_its_runtime() -> None:
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["name", "task"]
    for bundle in list_bundles():
        line = next(line for line in lines if line.split()[0] == bundle.name)
        assert ("onnx" if bundle.onnx.is_file() else "torch") in line.split()


def test_an_architecture_without_bundled_weights_names_the_bundled_recognisers() -> None:
    from textlens.pipeline import OCR
    from textlens.runtime.loading import available_models

    with pytest.raises(MissingWeights) as caught:
        OCR(detector="morph_lines", recognizer="crnn_base")
    message = str(caught.value)
    assert "no recognition model named 'crnn_base'" in message
    assert f"the bundled ones are {', '.join(available_models('recognition')) or 'none is bundled yet'}" in message
    assert "textlens models" in message and "textlens train rec --arch NAME" in message


def test_a_glimpse_bundle_as_recognizer_says_what_it_is() -> None:
    if "ram_mnist" not in {b.name for b in list_bundles()}:
        pytest.skip("ram_mnist is not bundled")
    from textlens.runtime.loading import load_recognizer

    with pytest.raises(MissingWeights, match="ram_mnist is a glimpse model, not an ONNX recognition model"):
        load_recognizer("ram_mnist")


def test_the_cli_refuses_an_architecture_name_with_exit_1() -> None:
    result = runner.invoke(app, ["read", str(SAMPLE), "--recognizer", "crnn_base", "--detector", "morph_lines"])
    assert result.exit_code == 1
    assert "no recognition model named 'crnn_base'" in result.stderr


@pytest.mark.slow
def test_own_fine_tuned_folder_reads_through_ocr_and_the_cli(tmp_path: Path) -> None:
    """The example of docs/recognition.md ("Your own model"), as written there, 20 steps (~25 s on one thread)."""
    pytest.importorskip("torch")
    if "crnn_fast" not in {b.name for b in list_bundles()}:
        pytest.skip("crnn_fast is not bundled")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def textlens(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "textlens", *args], capture_output=True, text=True, env=env, timeout=300
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    run, mine = tmp_path / "runs" / "mine", tmp_path / "models" / "mine"
    textlens(
        "train", "rec", "--arch", "crnn_fast", "--finetune", "crnn_fast", "--data", "synth:preset=print",
        "--steps", "20", "--batch", "8", "--workers", "0", "--precision", "fp32", "--no-progress",
        "--out", str(run),
    )  # fmt: skip
    textlens("export", "bundle", "--checkpoint", str(run / "export"), "-o", str(mine))
    assert {"config.json", "model.onnx", "model.safetensors"} <= {p.name for p in mine.iterdir()}

    from textlens import OCR

    document = OCR(recognizer=mine).read(SAMPLE)
    assert document.metadata["recognizer"] == "mine"
    assert "Invoice" in document.text  # 20 steps from crnn_fast's weights still read the sample
    printed = textlens("read", str(SAMPLE), "--recognizer", str(mine))
    assert printed.strip() == document.text.strip()
    names = {line.split()[0] for line in textlens("models").splitlines() if line.strip()}
    assert "mine" not in names  # a folder of one's own is used, never listed as bundled
