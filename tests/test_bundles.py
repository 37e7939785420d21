"""Every folder in ``textlens/models/weights``: a config naming its folder, family and architecture, a model card,
loading by its name (torch and runtime), torch and ONNX files holding the same weights, size limits, and
``textlens version -v`` listing it. Also how a bundle's name and its architecture are told apart."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from textlens.errors import MissingWeights, ModelError
from textlens.models.bundle import WEIGHTS_ROOT, list_bundles, pretrained_bundle, read_bundle, write_config
from textlens.runtime.loading import DEFAULT_RUNTIMES, check_runtime, load_detector, load_recognizer

FOLDERS = sorted(p.name for p in WEIGHTS_ROOT.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
ONNX_FOLDERS = [name for name in FOLDERS if (WEIGHTS_ROOT / name / "model.onnx").is_file()]
FAMILIES = {"recognition", "detection", "glimpse", "digits"}
# Float32 rounding differs between CPUs and thread counts; a card's figure below this is held to this.
FLOAT_NOISE = 1e-5
MIB = 1024 * 1024


def test_every_folder_is_a_bundle() -> None:
    assert FOLDERS, "no bundled models"
    assert [b.name for b in list_bundles()] == FOLDERS


@pytest.mark.parametrize("name", FOLDERS)
def test_config_names_its_folder_family_and_architecture(name: str) -> None:
    bundle = read_bundle(name)
    assert bundle.config["name"] == name and bundle.folder == WEIGHTS_ROOT / name
    assert bundle.family in FAMILIES and bundle.arch
    assert isinstance(bundle.config.get("model", {}), dict)
    assert bundle.has_torch
    if bundle.family in DEFAULT_RUNTIMES:
        assert bundle.has_onnx
        check_runtime(bundle.config, bundle.family, bundle.folder)  # textlens's own runtime, by family


@pytest.mark.parametrize("name", FOLDERS)
def test_model_card_is_there_and_says_something(name: str) -> None:
    card = read_bundle(name).card
    assert card.is_file()
    text = card.read_text(encoding="utf-8")
    assert text.startswith(f"# {name}") and len(text) > 1000


def test_committed_weights_stay_within_the_size_budget() -> None:
    sizes = {p: p.stat().st_size for p in WEIGHTS_ROOT.rglob("*") if p.is_file()}
    assert max(sizes.values()) <= 25 * MIB, max(sizes, key=sizes.__getitem__)
    assert sum(sizes.values()) <= 150 * MIB
    core = {b.folder for b in list_bundles() if b.family in DEFAULT_RUNTIMES}  # what `textlens read` ships with
    assert sum(s for p, s in sizes.items() if p.parent in core) <= 60 * MIB


@pytest.mark.parametrize("name", FOLDERS)
def test_loads_by_its_name_through_create_model(name: str) -> None:
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file

    from textlens.models.registry import create_model, get_spec

    bundle = read_bundle(name)
    model = create_model(name, pretrained=True)
    spec = get_spec(bundle.arch or "")
    assert spec.family == bundle.family
    stored = load_file(str(bundle.safetensors))
    state = model.state_dict()
    assert set(stored) == set(state)
    assert all(torch.equal(state[k], v.to(state[k].dtype)) for k, v in stored.items())


@pytest.mark.parametrize("name", ONNX_FOLDERS)
def test_loads_by_its_name_through_the_runtime(name: str) -> None:
    family = read_bundle(name).family
    if family == "digits":
        from textlens.models.digits_predict import load_digit_classifier

        assert load_digit_classifier(name, threads=1).name == name
        return
    loaded = (load_recognizer if family == "recognition" else load_detector)(name, threads=1)
    assert loaded.name == name


def card_tolerance(name: str) -> float:
    """The torch/ONNX agreement the card states ("... agree to 5.7e-6"), with float32 noise as a floor."""
    text = read_bundle(name).card.read_text(encoding="utf-8")
    found = re.search(r"agree to\s+(\d(?:\.\d+)?e-\d+)", text)
    assert found, f"{name}'s MODEL.md does not say how closely torch and ONNX agree"
    return max(float(found.group(1)), FLOAT_NOISE)


@pytest.mark.parametrize("name", ONNX_FOLDERS)
def test_torch_and_onnx_files_hold_the_same_weights(name: str) -> None:
    torch = pytest.importorskip("torch")
    from textlens.models.registry import create_model
    from textlens.runtime.session import create_session

    bundle = read_bundle(name)
    model = create_model(name, pretrained=True).eval()
    # The input `textlens export bundle` measures on: what the card's figure was measured on.
    if bundle.family == "recognition":
        from textlens.export.onnx import example_input

        images, output = example_input(bundle.config, batch=4), "logits"
    elif bundle.family == "digits":  # a bare logits tensor, not a dict
        images = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            expected = model(images).float().numpy()
        got = create_session(bundle.onnx, threads=1).run(["logits"], {"images": images.numpy()})[0]
        assert got.shape == expected.shape
        assert float(np.abs(got - expected).max()) <= card_tolerance(name)
        return
    else:
        from textlens.export.detection import EXAMPLE_SIZE

        images, output = torch.rand(*EXAMPLE_SIZE, generator=torch.Generator().manual_seed(1)) * 4 - 2, "prob"
    with torch.no_grad():
        expected = model(images)[output].float().numpy()
    session = create_session(bundle.onnx, threads=1)
    got = session.run([output], {session.get_inputs()[0].name: images.numpy()})[0]
    assert got.shape == expected.shape
    assert float(np.abs(got - expected).max()) <= card_tolerance(name)


def test_version_lists_every_bundle() -> None:
    from textlens.cli.app import app

    result = CliRunner().invoke(app, ["version", "-v"])
    assert result.exit_code == 0, result.output
    listed = [line.split()[0] for line in result.output.splitlines()[2:]]
    assert listed == FOLDERS
    assert "ram_mnist        glimpse (ram): safetensors" in result.output


def test_a_bundle_name_is_not_its_architecture() -> None:
    assert read_bundle("ram_mnist").arch == "ram" and read_bundle("dram_multidigit").arch == "dram"
    assert pretrained_bundle("dram").name == "dram_multidigit"  # an architecture with one bundle
    assert pretrained_bundle("crnn_fast").name == "crnn_fast"
    with pytest.raises(MissingWeights, match="ram_cluttered60, ram_mnist, ram_translated"):
        pretrained_bundle("ram")  # several: which one is not guessed
    with pytest.raises(MissingWeights, match="no bundled model 'nope'"):
        read_bundle("nope")


def test_create_model_takes_a_bundle_name_and_builds_its_architecture() -> None:
    pytest.importorskip("torch")
    from textlens.models.glimpse.predict import load_glimpse
    from textlens.models.registry import create_model, get_spec, list_models

    ram = create_model("ram_mnist", pretrained=True)
    assert type(ram) is type(create_model("ram")) and list(ram.image_size) == [28, 28]
    untrained = create_model("ram_translated")  # the bundle's config, fresh weights
    assert list(untrained.image_size) == [60, 60]
    assert not get_spec("ram").has_weights and get_spec("dram").has_weights and get_spec("crnn_fast").has_weights
    assert list_models(pretrained=True) == FOLDERS
    assert list_models("glimpse", pretrained=True) == [
        "dram_multidigit",
        "ram_cluttered60",
        "ram_mnist",
        "ram_translated",
    ]
    assert load_glimpse("ram_mnist").model.image_size == ram.image_size


def test_a_folder_without_a_readable_config_is_named_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(MissingWeights, match=r"no config\.json") as missing:
        read_bundle(tmp_path)
    assert str(tmp_path) in str(missing.value)
    (tmp_path / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match=r"config\.json is not valid JSON") as broken:
        read_bundle(tmp_path)
    assert str(tmp_path / "config.json") in str(broken.value)
    (tmp_path / "config.json").write_text("[]", encoding="utf-8")
    with pytest.raises(ModelError, match="JSON object"):
        read_bundle(tmp_path)


def test_write_config_round_trips_and_keeps_unicode(tmp_path: Path) -> None:
    config: dict[str, Any] = {"name": "x", "family": "recognition", "charset": "ab€£"}
    path = write_config(tmp_path, config)
    assert path == tmp_path / "config.json" and "€£" in path.read_text(encoding="utf-8")
    assert json.loads(path.read_text(encoding="utf-8")) == config == read_bundle(tmp_path).config
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]  # no temporary left behind
