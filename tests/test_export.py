"""ONNX export, quantisation, torch/ONNX parity (a tiny CRNN, every registered recogniser), bundles, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
import torch
import typer
from torch import nn
from typer.testing import CliRunner

from textlens.errors import ModelError
from textlens.export import bundle, check_parity, export_onnx, load_model_folder
from textlens.export.bundle import model_config
from textlens.export.onnx import _check_other_width, decode_logits, prepared_batch
from textlens.models import create_model, list_models
from textlens.models.serialization import save_weights
from textlens.runtime.recognizer import OnnxRecognizer

CHARSET = " abcdefghijklmnopqrstuvwxyz"
WORDS = ("hello", "world", "cafe", "a big jade", "text", "lens")
LOGIT_TOLERANCE = 1e-4


class TinyCRNN(nn.Module):
    """Conv stack + BiLSTM + linear, T = W/4: the shape of a real CRNN at a fraction of the size."""

    decoder = "ctc"

    def __init__(self, num_classes: int = len(CHARSET) + 1) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.rnn = nn.LSTM(32 * 8, 48, bidirectional=True, batch_first=True)
        self.classifier = nn.Linear(96, num_classes)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.features(images)
        n, c, h, w = features.shape
        sequence, _ = self.rnn(features.permute(0, 3, 1, 2).reshape(n, w, c * h))
        return {"logits": self.classifier(sequence)}


TINY_CONFIG = {
    "name": "tiny",
    "arch": "tiny",
    "decoder": "ctc",
    "charset": CHARSET,
    "input": {"height": 32, "channels": 1, "min_width": 16, "max_width": 512, "width_multiple": 4},
}


def render_word(text: str, height: int = 36) -> np.ndarray:
    (w, h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.9, 2)
    image = np.full((height, w + 10, 3), 255, np.uint8)
    cv2.putText(image, text, (5, (height + h) // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (0, 0, 0), 2)
    return image


@pytest.fixture(scope="module")
def word_crops() -> list[np.ndarray]:
    return [render_word(w) for w in WORDS]


@pytest.fixture(scope="module")
def tiny() -> TinyCRNN:
    torch.manual_seed(0)
    return TinyCRNN().eval()


@pytest.fixture(scope="module")
def tiny_onnx(tiny: TinyCRNN, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_onnx(tiny, TINY_CONFIG, tmp_path_factory.mktemp("onnx") / "tiny.onnx")


def test_export_writes_a_checked_graph_with_dynamic_batch_and_width(tiny_onnx: Path) -> None:
    model = onnx.load(str(tiny_onnx))
    onnx.checker.check_model(model)
    (graph_input,), (graph_output,) = model.graph.input, model.graph.output
    dims = graph_input.type.tensor_type.shape.dim
    assert graph_input.name == "images" and graph_output.name == "logits"
    assert dims[0].dim_param and dims[3].dim_param  # symbolic: any batch, any width
    assert (dims[1].dim_value, dims[2].dim_value) == (1, 32)
    assert not list(tiny_onnx.parent.glob(".*"))  # no temporary files left behind


def test_tiny_crnn_onnx_matches_torch_on_rendered_words(
    tiny: TinyCRNN, tiny_onnx: Path, word_crops: list[np.ndarray]
) -> None:
    parity = check_parity(tiny, tiny_onnx, prepared_batch(word_crops, TINY_CONFIG), TINY_CONFIG)
    assert parity.max_abs_diff < LOGIT_TOLERANCE
    assert parity.texts_equal and len(parity.onnx_texts) == len(WORDS)
    # Another width than the one traced: the width axis really is dynamic.
    wide = prepared_batch([render_word("a much longer line of text")], TINY_CONFIG)
    assert check_parity(tiny, tiny_onnx, wide, TINY_CONFIG).max_abs_diff < LOGIT_TOLERANCE


# Smaller versions of the heavier registered models keep the test fast; the operators are the same.
FAST_OVERRIDES = {
    "vitstr_tiny": {"depth": 2},
    "crnn_vgg": {"hidden": 64},
    "crnn_base": {"hidden": 64},
    "attn_mha": {"max_len": 2, "layers": 1},
    "attn_bahdanau": {"max_len": 6},
}
# Models whose traced graph only works at the traced width (torch's nn.MultiheadAttention bakes the
# memory length into a Reshape): they export with a static width until the model is made trace-friendly.
STATIC_WIDTH_ONLY = {"attn_mha"}


def _registered(name: str) -> tuple[nn.Module, dict]:
    torch.manual_seed(0)
    model = create_model(name, **FAST_OVERRIDES.get(name, {})).eval()
    config = model_config(model, name)
    config["input"]["max_width"] = 128
    return model, config


@pytest.mark.parametrize("name", sorted(set(list_models("recognition")) - STATIC_WIDTH_ONLY))
def test_every_registered_recognizer_exports_with_parity(
    name: str, tmp_path: Path, word_crops: list[np.ndarray]
) -> None:
    model, config = _registered(name)
    path = export_onnx(model, config, tmp_path / f"{name}.onnx")
    parity = check_parity(model, path, prepared_batch(word_crops, config), config)
    assert parity.max_abs_diff < LOGIT_TOLERANCE
    assert parity.texts_equal, (parity.torch_texts, parity.onnx_texts)
    width = onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim[3]
    assert bool(width.dim_param) == (config["decoder"] != "parallel")
    _assert_runtime_reads_like_torch(model, config, path, word_crops[:3])


def _assert_runtime_reads_like_torch(
    model: nn.Module, config: dict, onnx_path: Path, crops: list[np.ndarray], fixed_width: int | None = None
) -> None:
    """OnnxRecognizer on a folder holding the graph reads each crop as torch's greedy decoding does."""
    (onnx_path.parent / "config.json").write_text(json.dumps(config))
    onnx_path.rename(onnx_path.parent / "model.onnx")
    recognizer = OnnxRecognizer(onnx_path.parent)
    for crop in crops:
        with torch.no_grad():
            logits = model(torch.from_numpy(prepared_batch([crop], config, fixed_width)))["logits"]
        assert recognizer.recognize([crop])[0].text == decode_logits(logits.numpy(), config)[0]


@pytest.mark.parametrize("name", sorted(STATIC_WIDTH_ONLY & set(list_models("recognition"))))
def test_width_baking_models_export_with_a_static_width(
    name: str, tmp_path: Path, word_crops: list[np.ndarray]
) -> None:
    model, config = _registered(name)
    path = export_onnx(model, config, tmp_path / "static.onnx", dynamic_width=False)
    parity = check_parity(model, path, prepared_batch(word_crops, config, fixed_width=128), config)
    assert parity.max_abs_diff < LOGIT_TOLERANCE and parity.texts_equal
    assert onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim[3].dim_value == 128
    _assert_runtime_reads_like_torch(model, config, path, word_crops[:3], fixed_width=128)


def test_a_graph_that_only_works_at_the_traced_width_is_refused(tiny: TinyCRNN, tmp_path: Path) -> None:
    # A static-width graph stands in for one whose trace baked the width in (as attn_mha's does).
    static = export_onnx(tiny, TINY_CONFIG, tmp_path / "static.onnx", dynamic_width=False)
    with pytest.raises(ModelError, match="static width"):
        _check_other_width(tiny, static, TINY_CONFIG, 512, tmp_path / "dynamic.onnx")


def test_int8_dynamic_quantisation_runs_with_the_same_output_shape(
    tiny: TinyCRNN, tiny_onnx: Path, tmp_path: Path, word_crops: list[np.ndarray]
) -> None:
    path = export_onnx(tiny, TINY_CONFIG, tmp_path / "tiny.int8.onnx", int8=True)
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert "DynamicQuantizeLSTM" in ops or "MatMulInteger" in ops
    assert path.stat().st_size < tiny_onnx.stat().st_size
    parity = check_parity(tiny, path, prepared_batch(word_crops, TINY_CONFIG))
    assert np.isfinite(parity.max_abs_diff)


def test_static_quantisation_calibrates_on_a_manifest(
    tiny: TinyCRNN, tmp_path: Path, word_crops: list[np.ndarray]
) -> None:
    lines = []
    for i, (crop, word) in enumerate(zip(word_crops, WORDS, strict=True)):
        cv2.imwrite(str(tmp_path / f"w{i}.png"), crop)
        lines.append(json.dumps({"image": f"w{i}.png", "text": word}))
    (tmp_path / "calib.jsonl").write_text("\n".join(lines) + "\n")
    path = export_onnx(tiny, TINY_CONFIG, tmp_path / "tiny.qdq.onnx", calib=tmp_path / "calib.jsonl")
    assert "QuantizeLinear" in {node.op_type for node in onnx.load(str(path)).graph.node}
    batch = prepared_batch(word_crops, TINY_CONFIG)
    assert np.isfinite(check_parity(tiny, path, batch).max_abs_diff)
    assert sorted(p.name for p in tmp_path.glob("*.onnx")) == ["tiny.qdq.onnx"]


def test_bundle_writes_config_fp16_weights_and_onnx_the_runtime_reads(
    tiny: TinyCRNN, tmp_path: Path, word_crops: list[np.ndarray]
) -> None:
    from safetensors import safe_open

    folder = tmp_path / "weights" / "tiny"
    folder.mkdir(parents=True)
    (folder / "MODEL.md").write_text("# tiny\n")
    (folder / "model.onnx").write_bytes(b"old")
    report = bundle(tiny, TINY_CONFIG, folder)
    assert sorted(p.name for p in folder.iterdir()) == ["MODEL.md", "config.json", "model.onnx", "model.safetensors"]
    config = json.loads((folder / "config.json").read_text())
    assert config["runtime"] == "textlens.runtime.recognizer:OnnxRecognizer"
    assert config["family"] == "recognition" and config["onnx_dtype"] == "float32"
    with safe_open(str(folder / "model.safetensors"), "pt") as f:
        assert f.get_tensor("classifier.weight").dtype == torch.float16
    assert report.parity.max_abs_diff < LOGIT_TOLERANCE
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]
    texts = [r.text for r in OnnxRecognizer(folder).recognize(word_crops)]
    assert len(texts) == len(WORDS)


def test_bundle_refuses_files_over_the_size_limit_and_keeps_the_old_bundle(tiny: TinyCRNN, tmp_path: Path) -> None:
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    with pytest.raises(ModelError, match="limit"):
        bundle(tiny, TINY_CONFIG, folder, max_bytes=10_000)
    assert [p.name for p in tmp_path.iterdir()] == ["tiny"]
    assert (folder / "config.json").read_text() == "{}"


def test_a_trainer_export_folder_rebuilds_the_registered_model(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = create_model("crnn_small").eval()
    export = tmp_path / "export"
    save_weights(model, export / "model.safetensors")
    config = {**model_config(model, "crnn_small"), "model": {"hidden": 160}}
    (export / "config.json").write_text(json.dumps(config))
    rebuilt, loaded = load_model_folder(export)
    assert loaded["arch"] == "crnn_small"
    images = torch.randn(1, 1, 32, 64)
    with torch.no_grad():
        assert torch.allclose(rebuilt(images)["logits"], model(images)["logits"])


# ---------------------------------------------------------------------------------------------------------
# CLI


def _cli() -> typer.Typer:
    from textlens.cli.export import app

    return app


def test_cli_onnx_exports_a_registered_model_with_random_weights(tmp_path: Path) -> None:
    out = tmp_path / "crnn.onnx"
    result = CliRunner().invoke(_cli(), ["onnx", "--model", "crnn_small", "--random", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file() and "max |logit diff|" in result.stderr


def test_cli_onnx_without_weights_asks_for_a_checkpoint(tmp_path: Path) -> None:
    # crnn_vgg has no bundled weights (crnn_fast does).
    result = CliRunner().invoke(_cli(), ["onnx", "--model", "crnn_vgg", "-o", str(tmp_path / "x.onnx")])
    assert result.exit_code == 1
    assert "--checkpoint" in result.stderr and not (tmp_path / "x.onnx").exists()


def test_cli_bundle_turns_a_trainer_export_into_a_runtime_bundle(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = create_model("crnn_small", hidden=32).eval()
    export = tmp_path / "runs" / "x" / "export"
    save_weights(model, export / "model.safetensors")
    (export / "config.json").write_text(json.dumps({**model_config(model, "crnn_small"), "model": {"hidden": 32}}))
    out = tmp_path / "weights" / "crnn_test"
    result = CliRunner().invoke(_cli(), ["bundle", "--checkpoint", str(export), "-o", str(out), "--default"])
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    assert config["name"] == "crnn_test" and config["default"] is True
    assert OnnxRecognizer(out).recognize([render_word("ok")])[0].confidence > 0


def test_cli_bundle_takes_a_detector_export_too(tmp_path: Path) -> None:
    from textlens.export.detection import export_folder
    from textlens.runtime.detector import OnnxDetector

    torch.manual_seed(0)
    model = create_model("db_tiny").eval()
    config = {"name": "db_tiny", "family": "detection", "arch": "db_tiny", "model": {}}
    export = export_folder(model, config, tmp_path / "runs" / "det" / "export")
    out = tmp_path / "weights" / "db_test"
    result = CliRunner().invoke(_cli(), ["bundle", "--checkpoint", str(export), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "probability-map difference" in result.output
    bundled = json.loads((out / "config.json").read_text())
    assert bundled["family"] == "detection" and bundled["default"] is False
    page = np.full((96, 128, 3), 255, np.uint8)
    assert isinstance(OnnxDetector(out, bundled, threads=1).detect(page), list)


def test_cli_bundle_takes_another_checkpoint_of_the_run_with_the_exports_config(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    export = _small_export(tmp_path / "runs" / "x" / "export", seed=0)
    torch.manual_seed(1)
    later = create_model("crnn_small", hidden=32).eval()
    # A Lightning checkpoint names the module's parameters under the system's attribute "model".
    ckpt = tmp_path / "runs" / "x" / "last.ckpt"
    torch.save({"state_dict": {f"model.{k}": v for k, v in later.state_dict().items()}}, ckpt)
    out = tmp_path / "weights" / "crnn_last"
    args = ["bundle", "--checkpoint", str(export), "--weights", str(ckpt), "-o", str(out)]
    result = CliRunner().invoke(_cli(), args)
    assert result.exit_code == 0, result.output
    bundled = load_file(str(out / "model.safetensors"))
    for key, value in later.state_dict().items():
        if value.is_floating_point():
            torch.testing.assert_close(bundled[key].float(), value, atol=2e-3, rtol=2e-3)
    missing = CliRunner().invoke(
        _cli(), ["bundle", "--checkpoint", str(export), "--weights", str(ckpt.with_name("none.ckpt")), "-o", str(out)]
    )
    assert missing.exit_code == 1 and "none.ckpt" in missing.stderr


def test_cli_bundle_of_a_folder_without_weights_fails_clearly(tmp_path: Path) -> None:
    result = CliRunner().invoke(_cli(), ["bundle", "--checkpoint", str(tmp_path), "-o", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "config.json" in result.stderr


# ---------------------------------------------------------------------------------------------------------
# Weight averaging ("model soup")


def _small_export(folder: Path, seed: int, hidden: int = 32) -> Path:
    torch.manual_seed(seed)
    model = create_model("crnn_small", hidden=hidden).eval()
    save_weights(model, folder / "model.safetensors")
    config = {**model_config(model, "crnn_small"), "model": {"hidden": hidden}}
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_average_is_the_weighted_mean_of_every_parameter(tmp_path: Path) -> None:
    from textlens.export import average_folders

    a, b = _small_export(tmp_path / "a", 0), _small_export(tmp_path / "b", 1)
    model_a, _ = load_model_folder(a)
    model_b, _ = load_model_folder(b)
    averaged, config = average_folders([a, b], [3, 1])
    state_a, state_b = model_a.state_dict(), model_b.state_dict()
    for key, value in averaged.state_dict().items():
        if value.is_floating_point():
            assert torch.allclose(value, 0.75 * state_a[key] + 0.25 * state_b[key], atol=1e-6), key
    assert [s["weight"] for s in config["averaged_from"]] == [0.75, 0.25]
    assert config["arch"] == "crnn_small" and config["averaged_from"][1]["source"] == str(b)
    assert "training" not in config


def test_a_soup_of_soups_keeps_every_sources_record(tmp_path: Path) -> None:
    from textlens.export import average_folders

    a, b, c = (_small_export(tmp_path / name, seed) for name, seed in (("a", 0), ("b", 1), ("c", 2)))
    for folder in (a, b, c):
        config = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps({**config, "training": {"steps": folder.name}}))
    _, first = average_folders([a, b])
    soup = tmp_path / "soup"
    soup.mkdir()
    (soup / "config.json").write_text(json.dumps(first))
    (soup / "model.safetensors").write_bytes((a / "model.safetensors").read_bytes())
    _, config = average_folders([soup, c], [2, 1])
    inner, outer = config["averaged_from"]
    assert [s["training"]["steps"] for s in inner["averaged_from"]] == ["a", "b"] and "training" not in inner
    assert outer["training"]["steps"] == "c" and inner["weight"] == pytest.approx(2 / 3)


def test_average_refuses_models_of_other_shapes_or_too_few(tmp_path: Path) -> None:
    from textlens.errors import ConfigError
    from textlens.export import average_folders

    a, wide = _small_export(tmp_path / "a", 0), _small_export(tmp_path / "wide", 1, hidden=48)
    with pytest.raises(ConfigError, match="'model'") as caught:
        average_folders([a, wide])
    assert str(wide) in str(caught.value)
    with pytest.raises(ConfigError, match="at least two"):
        average_folders([a])
    with pytest.raises(ConfigError, match="3 weights given for 2"):
        average_folders([a, a], [1, 1, 1])


def test_cli_average_writes_a_bundle_the_runtime_reads(tmp_path: Path) -> None:
    a, b = _small_export(tmp_path / "a", 0), _small_export(tmp_path / "b", 1)
    out = tmp_path / "weights" / "crnn_soup"
    result = CliRunner().invoke(_cli(), ["average", str(a), str(b), "-o", str(out), "-w", "1", "-w", "1"])
    assert result.exit_code == 0, result.output
    assert "averaged 2 models" in result.output and "texts identical" in result.output
    config = json.loads((out / "config.json").read_text())
    assert config["name"] == "crnn_soup" and len(config["averaged_from"]) == 2
    assert OnnxRecognizer(out).recognize([render_word("ok")])[0].confidence > 0
    failed = CliRunner().invoke(_cli(), ["average", str(a), str(tmp_path / "none"), "-o", str(tmp_path / "x")])
    assert failed.exit_code == 1 and "config.json" in failed.stderr and not (tmp_path / "x").exists()


def test_cli_average_takes_detector_exports_too(tmp_path: Path) -> None:
    from textlens.export.detection import export_folder

    exports = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        model = create_model("db_tiny").eval()
        config = {"name": "db_tiny", "family": "detection", "arch": "db_tiny", "model": {}}
        exports.append(str(export_folder(model, config, tmp_path / f"det{seed}" / "export")))
    out = tmp_path / "weights" / "db_soup"
    result = CliRunner().invoke(_cli(), ["average", *exports, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "averaged 2 models" in result.output and "probability-map difference" in result.output
    assert json.loads((out / "config.json").read_text())["family"] == "detection"
