"""Files from elsewhere never run code: a crafted checkpoint is refused unread, a bundle cannot name a module."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from typer.testing import CliRunner  # noqa: E402

from textlens.cli.app import app  # noqa: E402
from textlens.errors import ModelError  # noqa: E402
from textlens.export.bundle import complete_config, load_model_folder  # noqa: E402
from textlens.models.serialization import load_weights, read_checkpoint, read_state, save_weights  # noqa: E402
from textlens.runtime.loading import DEFAULT_RUNTIMES, check_runtime, load_detector, load_recognizer  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


class _Payload:
    """Unpickles by calling ``exec`` on code that creates ``marker``: what a crafted checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return exec, (f"open({str(self.marker)!r}, 'w').close()",)


def write_evil_checkpoint(path: Path, marker: Path, zipped: bool = True) -> Path:
    """A checkpoint shaped like a Lightning one whose hyper-parameters run code when unpickled."""
    blob = {"state_dict": {"model.weight": torch.zeros(1, 1)}, "hyper_parameters": _Payload(marker)}
    torch.save(blob, path, _use_new_zipfile_serialization=zipped)
    return path


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "pwned"


@pytest.fixture
def evil(tmp_path: Path, marker: Path) -> Path:
    path = write_evil_checkpoint(tmp_path / "evil.ckpt", marker)
    # The payload is real: loading without the weights-only guard runs it.
    torch.load(path, map_location="cpu", weights_only=False)
    assert marker.exists()
    marker.unlink()
    return path


# ---------------------------------------------------------------- checkpoints


LOADERS: dict[str, Callable[[Path], Any]] = {
    "read_checkpoint": read_checkpoint,
    "read_state": read_state,
    "load_weights": lambda path: load_weights(torch.nn.Linear(1, 1), path),
}


@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_a_malicious_checkpoint_is_refused_without_running(loader: str, evil: Path, marker: Path) -> None:
    with pytest.raises(ModelError, match="refused to load the checkpoint") as refused:
        LOADERS[loader](evil)
    assert str(evil) in str(refused.value)
    assert "weights_only" not in str(refused.value)  # no advice to load it unsafely
    assert not marker.exists()


def test_a_malicious_legacy_format_checkpoint_is_refused(tmp_path: Path, marker: Path) -> None:
    evil = write_evil_checkpoint(tmp_path / "old.pt", marker, zipped=False)
    with pytest.raises(ModelError, match="refused"):
        read_checkpoint(evil)
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"not a checkpoint", b"half a checkpoint", b"PK\x03\x04 truncated"])
def test_a_damaged_checkpoint_is_unreadable_not_refused(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "broken.ckpt"
    path.write_bytes(content)
    with pytest.raises(ModelError, match="cannot read the checkpoint") as unreadable:
        read_checkpoint(path)
    assert str(path) in str(unreadable.value) and "weights_only" not in str(unreadable.value)


def test_a_lightning_style_checkpoint_of_plain_values_still_loads(tmp_path: Path) -> None:
    """What our trainers write: tensors, dicts, lists, strings, numbers, None (optimizer and loop states)."""
    path = tmp_path / "last.ckpt"
    blob = {
        "epoch": 0,
        "global_step": 3,
        "pytorch-lightning_version": "2.6.0",
        "state_dict": {"model.weight": torch.ones(1, 1), "model.bias": torch.zeros(1)},
        "hyper_parameters": {"arch": "crnn_small", "model_kwargs": {"num_classes": 5}, "lr": 1e-3, "postprocess": None},
        "hparams_name": "kwargs",
        "optimizer_states": [{"state": {0: {"step": torch.tensor(3.0)}}, "param_groups": [{"lr": 1e-3}]}],
        "callbacks": {"ModelCheckpoint{'monitor': 'val/cer'}": {"best_model_score": torch.tensor(0.5)}},
    }
    torch.save(blob, path)
    assert read_checkpoint(path)["hyper_parameters"]["arch"] == "crnn_small"
    model = torch.nn.Linear(1, 1)
    load_weights(model, path)
    assert torch.equal(model.weight.detach(), torch.ones(1, 1))


def test_export_onnx_refuses_a_malicious_checkpoint(evil: Path, marker: Path, tmp_path: Path) -> None:
    args = ["export", "onnx", "--model", "crnn_small", "--checkpoint", str(evil), "-o", str(tmp_path / "m.onnx")]
    result = CliRunner().invoke(app, args)
    message = " ".join(result.output.split())
    assert result.exit_code == 1, result.output
    assert "refused to load the checkpoint" in message and "evil.ckpt" in message
    assert not marker.exists() and not (tmp_path / "m.onnx").exists()


def test_export_bundle_weights_refuses_a_malicious_checkpoint(evil: Path, marker: Path, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"arch": "crnn_small", "family": "recognition"}))
    args = ["export", "bundle", "--checkpoint", str(folder), "--weights", str(evil), "-o", str(tmp_path / "b")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1 and "evil.ckpt" in " ".join(result.output.split())
    assert not marker.exists()


def test_finetune_and_resume_refuse_a_malicious_checkpoint(evil: Path, marker: Path, tmp_path: Path) -> None:
    pytest.importorskip("pytorch_lightning")
    from textlens.train.finetune import read_source
    from textlens.train.rec import RecTrainConfig, train_recognizer

    with pytest.raises(ModelError, match="refused"):
        read_source(evil)
    run = tmp_path / "run"
    run.mkdir()
    evil.rename(run / "last.ckpt")
    with pytest.raises(ModelError, match="refused"):
        train_recognizer(RecTrainConfig(out=run, data=["fake:n=8"], resume=True))
    assert not marker.exists()


# ---------------------------------------------------------------- bundles naming a runtime


@pytest.fixture
def evil_module(tmp_path: Path, marker: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``evilmod/payload.py`` in the current folder (on sys.path, as under ``python -m``), creating the marker
    when imported."""
    package = tmp_path / "evilmod"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "payload.py").write_text(f"open({str(marker)!r}, 'w').close()\nclass Rec: pass\nclass Det: pass\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return package


def write_bundle(folder: Path, family: str, runtime: str | None) -> Path:
    folder.mkdir(parents=True)
    config: dict[str, Any] = {"name": folder.name, "family": family, "charset": "ab", "input": {"height": 32}}
    if runtime is not None:
        config["runtime"] = runtime
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "model.onnx").write_bytes(b"not read: the config is refused first")
    return folder


@pytest.mark.parametrize(("family", "load"), [("recognition", load_recognizer), ("detection", load_detector)])
def test_a_bundle_naming_a_module_is_refused_without_importing_it(
    family: str, load: Callable[..., Any], evil_module: Path, marker: Path, tmp_path: Path
) -> None:
    folder = write_bundle(tmp_path / "bundle", family, "evilmod.payload:Rec")
    with pytest.raises(ModelError, match="not one of textlens's") as refused:
        load(folder)
    assert str(folder) in str(refused.value) and "evilmod.payload:Rec" in str(refused.value)
    assert not marker.exists() and "evilmod" not in sys.modules


def test_eval_rec_with_a_bundle_naming_a_module_exits_1(evil_module: Path, marker: Path, tmp_path: Path) -> None:
    folder = write_bundle(tmp_path / "bundle", "recognition", "evilmod.payload:Rec")
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{"image": "w.png", "text": "ab"}\n')
    result = CliRunner().invoke(app, ["eval", "rec", "--manifest", str(manifest), "--model", str(folder)])
    assert result.exit_code == 1 and "not one of textlens's" in " ".join(result.output.split())
    assert not marker.exists()


def test_python_m_textlens_does_not_import_a_module_from_the_current_folder(
    evil_module: Path, marker: Path, tmp_path: Path
) -> None:
    """The reported case: ``python -m textlens`` puts the current folder first on sys.path."""
    write_bundle(tmp_path / "bundle", "recognition", "evilmod.payload:Rec")
    (tmp_path / "m.jsonl").write_text('{"image": "w.png", "text": "ab"}\n')
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    control = subprocess.run([sys.executable, "-c", "import evilmod.payload"], cwd=tmp_path, env=env, timeout=60)
    assert control.returncode == 0 and marker.exists()  # the module would run if imported from here
    marker.unlink()
    command = [sys.executable, "-m", "textlens", "eval", "rec", "--manifest", "m.jsonl", "--model", "bundle"]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert "not one of textlens's" in " ".join(result.stderr.split())
    assert not marker.exists()


@pytest.mark.parametrize("family", sorted(DEFAULT_RUNTIMES))
def test_the_runtime_strings_bundles_carry_are_accepted(family: str, tmp_path: Path) -> None:
    check_runtime({"family": family, "runtime": DEFAULT_RUNTIMES[family]}, family, tmp_path)
    check_runtime({"family": family}, family, tmp_path)
    other = next(runtime for fam, runtime in DEFAULT_RUNTIMES.items() if fam != family)
    with pytest.raises(ModelError, match=f"not a {family} one"):
        check_runtime({"family": family, "runtime": other}, family, tmp_path)


def test_bundled_configs_name_only_textlens_runtimes() -> None:
    for config_path in sorted((REPO / "textlens" / "models" / "weights").glob("*/config.json")):
        config = json.loads(config_path.read_text(encoding="utf-8"))
        if config.get("family") in DEFAULT_RUNTIMES:
            check_runtime(config, config["family"], config_path.parent)


def test_export_refuses_a_config_naming_another_runtime(tmp_path: Path) -> None:
    config = {"family": "recognition", "charset": "ab", "input": {"height": 32}, "runtime": "evilmod.payload:Rec"}
    with pytest.raises(ModelError, match="not one of textlens's"):
        complete_config(config, "soup")
    assert (
        complete_config({**config, "runtime": DEFAULT_RUNTIMES["recognition"]}, "soup")["runtime"]
        == (DEFAULT_RUNTIMES["recognition"])
    )
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({**config, "arch": "crnn_small"}))
    save_weights(torch.nn.Linear(1, 1), folder / "model.safetensors")
    with pytest.raises(ModelError, match="not one of textlens's"):
        load_model_folder(folder)
