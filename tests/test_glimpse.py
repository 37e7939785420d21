"""RAM / DRAM glimpse models: sensor, modules, REINFORCE, data generators, training, export and drawing."""

from __future__ import annotations

import gzip
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("pytorch_lightning")

from typer.testing import CliRunner  # noqa: E402

from textlens.cli.glimpse import app  # noqa: E402
from textlens.cli.train import app as train_app  # noqa: E402
from textlens.data.digits import (  # noqa: E402
    DigitTask,
    add_clutter,
    build_task,
    compose_string,
    load_mnist_splits,
    place_digit,
    shift,
)
from textlens.errors import ConfigError, ModelError  # noqa: E402
from textlens.eval.classification import sequence_error_by_length  # noqa: E402
from textlens.models.glimpse import DRAM, RAM, extract_patches, patch_boxes  # noqa: E402
from textlens.models.glimpse.policy import reinforce_losses  # noqa: E402
from textlens.models.glimpse.predict import load_glimpse, load_glimpse_model, to_canvas, trajectory  # noqa: E402
from textlens.models.serialization import load_state  # noqa: E402
from textlens.train.glimpse_data import encode_targets  # noqa: E402
from textlens.train.glimpse_system import GlimpseSystem, grow_sensor_input  # noqa: E402

torch.set_num_threads(1)
N_IMAGES, N_VAL = 80, 20
# A DRAM small enough for a loss step in milliseconds: 2 symbols, 16-unit LSTMs, one conv layer each.
TINY_DRAM: dict[str, Any] = {
    "image_size": [32, 80],
    "max_length": 2,
    "glimpses_per_symbol": 2,
    "hidden": 16,
    "glimpse_channels": [4],
    "context_channels": [4],
    "context_size": [8, 20],
}


def _write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


def fake_digits(count: int, value: int = 255, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """28×28 'digits': a bar whose position encodes the label, in a 20×20 box like MNIST's."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 10
    images = np.zeros((count, 28, 28), np.uint8)
    for i, label in enumerate(labels):
        x = 4 + 2 * int(label)
        images[i, 4:24, x : x + 2] = value
        images[i, 4 + int(rng.integers(0, 4)), 4:24] = value
    return images, labels.astype(np.uint8)


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Fake MNIST training IDX files: train digits drawn at 100, the last N_VAL (validation) at 200."""
    folder = tmp_path_factory.mktemp("mnist")
    train, train_labels = fake_digits(N_IMAGES - N_VAL, value=100)
    val, val_labels = fake_digits(N_VAL, value=200, seed=1)
    _write_idx(folder / "train-images-idx3-ubyte.gz", np.concatenate([train, val]))
    _write_idx(folder / "train-labels-idx1-ubyte.gz", np.concatenate([train_labels, val_labels]))
    return folder


@pytest.fixture(scope="module")
def trained_ram(mnist_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A RAM trained for 3 steps through the CLI command; its run folder."""
    out = tmp_path_factory.mktemp("run") / "ram"
    result = CliRunner().invoke(
        train_app,
        [
            "glimpse",
            "--data",
            str(mnist_dir),
            "--out",
            str(out),
            "--steps",
            "3",
            "--batch",
            "8",
            "--val-every",
            "3",
            "--val-size",
            str(N_VAL),
            "--holdout",
            str(N_VAL),
            "--mc-samples",
            "2",
            "--device",
            "cpu",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    return out


# ---------------------------------------------------------------- sensor
def test_sensor_returns_one_patch_per_scale_centred_on_the_location() -> None:
    images = torch.zeros(2, 1, 28, 28)
    images[0, 0, 13:15, 13:15] = 1.0  # a dot in the middle
    images[1, 0, :4, :4] = 1.0  # a dot in the top-left corner
    locations = torch.tensor([[0.0, 0.0], [-1.0, -1.0]])
    patches = extract_patches(images, locations, size=4, scales=3)
    assert patches.shape == (2, 3, 4, 4)
    assert patches[0, 0, 1:3, 1:3].min() > 0.99 and patches[0, 0].sum() == pytest.approx(4.0)
    # The coarser patches average the same dot over more pixels: fainter, same ink per area.
    assert patches[0, 1].max() < 1.0 and patches[0, 1].sum() == pytest.approx(1.0)
    # At the corner, three quarters of the patch are off the image and read as 0.
    assert patches[1, 0, 2:, 2:].min() > 0.99 and float(patches[1, 0, :2].sum()) == pytest.approx(0.0, abs=1e-5)


def test_sensor_is_differentiable_with_respect_to_the_image_only() -> None:
    images = torch.rand(1, 1, 20, 20, requires_grad=True)
    locations = torch.zeros(1, 2, requires_grad=True)
    extract_patches(images, locations, 4, 2).sum().backward()
    assert images.grad is not None and images.grad.abs().sum() > 0
    assert locations.grad is None


def test_patch_boxes_double_per_scale_in_pixels() -> None:
    boxes = patch_boxes((0.0, 0.0), 60, 60, size=12, scales=3)
    assert [b[2] - b[0] for b in boxes] == [12, 24, 48]
    assert boxes[0] == (24.0, 24.0, 36.0, 36.0)


# ---------------------------------------------------------------- modules
@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_ram_outputs_logits_path_log_probs_and_baselines(cell: str) -> None:
    model = RAM(
        image_size=(28, 28),
        glimpses=4,
        glimpse_size=6,
        scales=2,
        hidden=32,
        what=16,
        where=16,
        glimpse_out=32,
        cell=cell,
    )
    out = model(torch.rand(3, 1, 28, 28), stochastic=True)
    assert out["logits"].shape == (3, 10)
    assert out["locations"].shape == (3, 4, 2) and out["locations"].abs().max() <= 1.0
    assert out["log_probs"].shape == out["baselines"].shape == (3, 3)
    assert model.predict_proba(torch.rand(2, 1, 28, 28), samples=3).sum(-1).allclose(torch.ones(2))


def test_dram_emits_one_symbol_per_group_of_glimpses() -> None:
    model = DRAM(
        image_size=(32, 80),
        max_length=3,
        glimpses_per_symbol=2,
        glimpse_size=8,
        scales=2,
        hidden=32,
        glimpse_channels=(4, 8),
        context_size=(8, 20),
        context_channels=(4, 8),
    )
    out = model(torch.rand(2, 1, 32, 80), stochastic=True)
    assert out["logits"].shape == (2, 4, 11)  # 3 digits + the end token, 10 digits + end class
    assert out["locations"].shape == (2, 8, 2)
    assert out["log_probs"].shape == out["baselines"].shape == (2, 8)
    logits = torch.full((2, 4, 11), -5.0)
    for row, symbols in enumerate([[3, 1, 10, 10], [10, 2, 2, 2]]):
        for pos, sym in enumerate(symbols):
            logits[row, pos, sym] = 5.0
    assert model.decode(logits) == [[3, 1], []]


# ---------------------------------------------------------------- REINFORCE
def test_classification_loss_sends_no_gradient_to_the_location_network() -> None:
    model = RAM(glimpses=3, hidden=32, what=16, where=16, glimpse_out=32)
    out = model(torch.rand(4, 1, 28, 28), stochastic=True)
    torch.nn.functional.cross_entropy(out["logits"], torch.tensor([1, 2, 3, 4])).backward()
    assert model.locator.fc.weight.grad is None and model.baseline.fc.weight.grad is None
    assert model.core.cell.weight_hh.grad.abs().sum() > 0


def test_reinforce_term_trains_only_the_location_network() -> None:
    model = RAM(glimpses=3, hidden=32, what=16, where=16, glimpse_out=32)
    out = model(torch.rand(4, 1, 28, 28), stochastic=True)
    reinforce, _ = reinforce_losses(out["log_probs"], out["baselines"], torch.ones(4, 2))
    reinforce.backward()
    assert model.locator.fc.weight.grad.abs().sum() > 0
    assert model.core.cell.weight_hh.grad is None and model.classifier.weight.grad is None
    assert model.baseline.fc.weight.grad is None  # the advantage is detached


def test_reinforce_moves_the_policy_towards_rewarded_locations_and_the_baseline_learns() -> None:
    torch.manual_seed(0)
    model = RAM(glimpses=2, hidden=16, what=8, where=8, glimpse_out=16, std=0.2)
    optim = torch.optim.Adam(list(model.locator.parameters()) + list(model.baseline.parameters()), lr=0.02)
    images = torch.rand(64, 1, 28, 28)

    def mean_x() -> float:
        return float(model(images, stochastic=False)["locations"][:, 1, 0].mean())

    before, first_mse, mse = mean_x(), None, None
    for _ in range(40):
        out = model(images, stochastic=True)
        reward = (out["locations"][:, 1:, 0] > before + 0.1).float()  # a crafted reward: look right
        reinforce, mse = reinforce_losses(out["log_probs"], out["baselines"], reward)
        first_mse = float(mse.detach()) if first_mse is None else first_mse
        optim.zero_grad()
        (reinforce + mse).backward()
        optim.step()
    assert mean_x() > before + 0.2
    assert float(mse.detach()) < first_mse


def test_hybrid_loss_has_all_three_terms_for_both_models() -> None:
    ram = GlimpseSystem("ram", {"glimpses": 2, "hidden": 16, "what": 8, "where": 8, "glimpse_out": 16}, "mnist")
    terms = ram.losses({"images": torch.rand(4, 1, 28, 28), "targets": torch.tensor([0, 1, 2, 3])})
    assert set(terms) >= {"loss", "nll", "reinforce", "baseline_mse"}
    assert torch.isclose(terms["loss"], terms["nll"] + terms["reinforce"] + terms["baseline_mse"])
    dram = GlimpseSystem(
        "dram",
        TINY_DRAM,
        "multidigit",
    )
    targets = encode_targets(["7", "42"], "dram", 2)
    assert targets.tolist() == [[7, 10, -100], [4, 2, 10]]
    assert torch.isfinite(dram.losses({"images": torch.rand(2, 1, 32, 80), "targets": targets})["loss"])


def test_the_location_policy_and_baseline_stay_fp32_under_bf16_autocast() -> None:
    torch.manual_seed(0)
    model = DRAM(**TINY_DRAM, std=0.03)
    images = torch.rand(3, 1, 32, 80)
    exact = model(images, stochastic=False)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = model(images, stochastic=False)
        state = torch.rand(3, 16, dtype=torch.bfloat16)
        sample = model.emission(state, stochastic=True)
        baseline = model.baseline(torch.rand(3, 32, dtype=torch.bfloat16))
    assert mixed["logits"].dtype == torch.bfloat16  # the classifier does run in bf16
    assert sample.mean.dtype == sample.log_prob.dtype == baseline.dtype == torch.float32
    # The first location comes from the context network (bf16) through the fp32 policy: rounding of its input
    # moves it by far less than σ, where a bf16 mean would be rounded to steps of ~0.004 (σ/8).
    assert (mixed["locations"] - exact["locations"]).abs().max() < 0.03 / 4


def test_a_bf16_training_step_is_finite_and_reaches_every_part(mnist_dir: Path, tmp_path: Path) -> None:
    small = ["--batch", "4", "--val-size", "4", "--mc-samples", "0", "--holdout", str(N_VAL)]
    dram = ["--arch", "dram", "--task", "multidigit", "--glimpses", "1", "--model-option", "hidden=16"]
    result = _one_step_run(mnist_dir, tmp_path / "bf16", *small, *dram, "--precision", "bf16")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "bf16" / "summary.json").read_text())
    assert summary["config"]["precision"] == "bf16" and summary["steps"] == 1
    refused = _one_step_run(mnist_dir, tmp_path / "auto", *small, "--precision", "auto")
    assert refused.exit_code == 2 and "no auto" in " ".join(refused.output.split())
    system = GlimpseSystem(
        "dram",
        TINY_DRAM,
        "multidigit",
    )
    with torch.autocast("cpu", dtype=torch.bfloat16):
        terms = system.losses({"images": torch.rand(2, 1, 32, 80), "targets": encode_targets(["7", "42"], "dram", 2)})
    terms["loss"].backward()
    assert torch.isfinite(terms["loss"]) and terms["reinforce"].dtype == torch.float32
    model = system.model
    assert model.emission.fc.weight.grad.abs().sum() > 0 and model.baseline.fc.weight.grad.abs().sum() > 0


def test_ema_weights_are_validated_checkpointed_and_exported(mnist_dir: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file

    small = ["--batch", "4", "--val-size", "4", "--mc-samples", "0", "--holdout", str(N_VAL), "--lr", "0.01"]
    tiny = ["--model-option", "hidden=16", "--ema", "0.5", "--val-every", "3"]
    first = _one_step_run(mnist_dir, tmp_path / "ema", *small, *tiny, "--steps", "3")
    assert first.exit_code == 0, first.output
    blob = torch.load(tmp_path / "ema" / "last.ckpt", weights_only=False)
    average, live = blob["state_dict"], blob["current_model_state"]
    assert not torch.equal(average["model.classifier.weight"], live["model.classifier.weight"])
    exported = load_file(str(tmp_path / "ema" / "export" / "model.safetensors"))
    assert torch.allclose(exported["classifier.weight"].float(), average["model.classifier.weight"], atol=1e-3)
    # --resume picks up the live weights and the average where they were.
    again = _one_step_run(mnist_dir, tmp_path / "ema", *small, *tiny, "--steps", "6", "--resume")
    assert again.exit_code == 0, again.output
    assert json.loads((tmp_path / "ema" / "summary.json").read_text())["steps"] == 6
    no_ema = [*small, "--model-option", "hidden=16", "--steps", "9", "--resume"]
    forgot = _one_step_run(mnist_dir, tmp_path / "ema", *no_ema)
    assert forgot.exit_code == 2 and "pass --ema again" in " ".join(forgot.output.split())
    wrong = _one_step_run(mnist_dir, tmp_path / "bad", *small, "--ema", "1.5")
    assert wrong.exit_code == 2 and "--ema" in wrong.output


def test_average_writes_one_glimpse_model_with_the_mean_weights(mnist_dir: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file

    from textlens.cli.export import app as export_app

    small = ["--batch", "4", "--val-size", "4", "--mc-samples", "0", "--holdout", str(N_VAL), "--lr", "0.01"]
    for seed in ("1", "2"):
        result = _one_step_run(mnist_dir, tmp_path / seed, *small, "--model-option", "hidden=16", "--seed", seed)
        assert result.exit_code == 0, result.output
    sources = [str(tmp_path / seed / "export") for seed in ("1", "2")]
    result = CliRunner().invoke(app, ["average", *sources, "-o", str(tmp_path / "soup"), "-w", "3", "-w", "1"])
    assert result.exit_code == 0, result.output
    first, second, soup = (load_file(str(Path(f) / "model.safetensors")) for f in [*sources, tmp_path / "soup"])
    for key, value in soup.items():
        assert value.dtype == torch.float16
        expected = (3 * first[key].float() + second[key].float()) / 4
        assert torch.allclose(value.float(), expected, atol=2e-3), key
    config = json.loads((tmp_path / "soup" / "config.json").read_text())
    assert config["family"] == "glimpse" and config["name"] == "soup" and "training" not in config
    assert [a["weight"] for a in config["averaged_from"]] == [0.75, 0.25]
    assert load_glimpse(tmp_path / "soup").predict([np.zeros((28, 28), np.uint8)])[0] in set("0123456789")
    refused = CliRunner().invoke(export_app, ["average", *sources, "-o", str(tmp_path / "onnx")])
    assert refused.exit_code == 2 and "glimpse average" in " ".join(refused.output.split())


# ---------------------------------------------------------------- data
def test_mnist_split_keeps_the_last_images_for_validation(mnist_dir: Path) -> None:
    splits = load_mnist_splits(mnist_dir, val_size=N_VAL)
    assert len(splits.train_labels) == N_IMAGES - N_VAL and len(splits.val_labels) == N_VAL
    assert splits.val_images.max() == 200 and splits.train_images.max() == 100


def test_translated_digit_is_always_fully_inside_the_canvas() -> None:
    digit = np.full((28, 28), 255, np.uint8)
    for seed in range(50):
        canvas, (x0, y0, x1, y1) = place_digit(digit, 60, np.random.default_rng(seed))
        assert x0 >= 0 and y0 >= 0 and x1 <= 60 and y1 <= 60
        assert canvas.sum() == digit.sum()


def test_clutter_adds_the_asked_number_of_fragments_inside_the_canvas() -> None:
    canvas = np.zeros((100, 100), np.uint8)
    sources = [np.full((28, 28), 50 + i, np.uint8) for i in range(8)]
    boxes = add_clutter(canvas, sources, np.random.default_rng(0))
    assert len(boxes) == 8
    assert all(x1 - x0 == 8 and y1 - y0 == 8 and x0 >= 0 and x1 <= 100 and y1 <= 100 for x0, y0, x1, y1 in boxes)
    assert canvas.max() > 0


def test_tasks_are_deterministic_for_a_seed_and_validation_uses_validation_digits(mnist_dir: Path) -> None:
    splits = load_mnist_splits(mnist_dir, val_size=N_VAL)
    for name, shape in [
        ("translated", (60, 60)),
        ("cluttered60", (60, 60)),
        ("cluttered100", (100, 100)),
        ("multidigit", (64, 160)),
    ]:
        val = build_task(name, "val", seed=3, splits=splits)
        image, label = val.sample(5)
        again, label_again = build_task(name, "val", seed=3, splits=splits).sample(5)
        assert image.shape == shape and np.array_equal(image, again) and label == label_again
        assert (
            not np.array_equal(image, build_task(name, "val", seed=4, splits=splits).sample(5)[0])
            or name == "translated"
        )
        assert set(np.unique(val.batch(range(8))[0])) <= set(range(0, 201)) and 100 not in image
        train_images, _ = build_task(name, "train", seed=3, splits=splits).batch(range(8))
        assert train_images.max() <= 100  # never a validation digit


def test_multidigit_labels_match_the_digits_drawn(mnist_dir: Path) -> None:
    digits = [np.pad(np.full((20, 8 + i), 255, np.uint8), 4) for i in range(4)]
    canvas, boxes = compose_string(digits, np.random.default_rng(1), 64, 160)
    assert len(boxes) == 4 and canvas.shape == (64, 160)
    assert all(b[0] < c[0] for b, c in itertools.pairwise(boxes))  # left to right
    splits = load_mnist_splits(mnist_dir, val_size=N_VAL)
    task = DigitTask("multidigit", splits.train_images, splits.train_labels, seed=0)
    images, labels = task.batch(range(30))
    assert all(1 <= len(label) <= 5 and label.isdigit() for label in labels)
    # Each fake digit is one vertical bar at full value: count bars per column group.
    for image, label in zip(images, labels, strict=True):
        columns = (image >= 90).any(axis=0)
        runs = int(np.sum(columns[1:] & ~columns[:-1]) + columns[0])
        assert runs <= len(label) * 2 and runs >= 1


def test_string_samples_give_each_digits_box_on_the_sample_image(mnist_dir: Path) -> None:
    splits = load_mnist_splits(mnist_dir, val_size=N_VAL)
    task = DigitTask("multidigit", splits.train_images, splits.train_labels, seed=3)
    for index in range(10):
        image, text, boxes = task.string_sample(index)
        same_image, same_text = task.sample(index)
        assert np.array_equal(image, same_image) and text == same_text and len(boxes) == len(text)
        for x0, y0, x1, y1 in boxes:
            assert 0 <= x0 < x1 <= 160 and 0 <= y0 < y1 <= 64 and image[y0:y1, x0:x1].max() > 0  # ink inside
    with pytest.raises(ConfigError, match="multidigit"):
        DigitTask("mnist", splits.train_images, splits.train_labels).string_sample(0)


def test_shift_moves_content_without_wrapping() -> None:
    image = np.zeros((6, 6), np.uint8)
    image[0, 0] = 9
    moved = shift(image, np.random.default_rng(0), 2)
    assert moved.sum() in (0, 9) and moved.shape == (6, 6)


def test_dark_on_light_input_is_inverted_and_fitted() -> None:
    page = np.full((40, 100, 3), 255, np.uint8)
    page[10:30, 20:30] = 0
    canvas = to_canvas(page, 64, 160)
    assert canvas.shape == (64, 160) and canvas.max() == 255 and canvas[0, 0] == 0


# ---------------------------------------------------------------- training, export, drawing
def test_train_glimpse_runs_and_exports(trained_ram: Path) -> None:
    summary = json.loads((trained_ram / "summary.json").read_text())
    assert summary["steps"] == 3 and summary["final_val"]["greedy"]["count"] == N_VAL
    config = json.loads((trained_ram / "export" / "config.json").read_text())
    assert config["family"] == "glimpse" and config["arch"] == "ram" and config["task"]["name"] == "mnist"
    assert (trained_ram / "last.ckpt").is_file() and (trained_ram / "export" / "model.safetensors").is_file()


def test_export_round_trip_gives_the_same_predictions(trained_ram: Path, mnist_dir: Path) -> None:
    from textlens.models.registry import create_model
    from textlens.models.serialization import load_weights

    loaded = load_glimpse(trained_ram / "export")
    direct = create_model("ram", **loaded.config["model"])
    load_weights(direct, trained_ram / "best.ckpt")
    images = torch.rand(4, 1, 28, 28)
    a = loaded.model(images, stochastic=False)["logits"]
    b = direct.eval()(images, stochastic=False)["logits"]
    assert torch.allclose(a, b, atol=0.05)  # fp16 export
    predict = load_glimpse_model(trained_ram / "export")
    labels = predict([np.zeros((28, 28), np.uint8), np.zeros((28, 28, 3), np.uint8)])
    assert len(labels) == 2 and all(label.isdigit() for label in labels)


def test_resume_continues_from_the_last_checkpoint(trained_ram: Path, mnist_dir: Path) -> None:
    result = CliRunner().invoke(
        train_app,
        [
            "glimpse",
            "--data",
            str(mnist_dir),
            "--out",
            str(trained_ram),
            "--steps",
            "5",
            "--batch",
            "8",
            "--val-every",
            "5",
            "--val-size",
            "8",
            "--mc-samples",
            "0",
            "--holdout",
            str(N_VAL),
            "--device",
            "cpu",
            "--no-progress",
            "--resume",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads((trained_ram / "summary.json").read_text())["steps"] == 5


def test_dram_trains_two_steps_on_digit_strings(mnist_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        train_app,
        [
            "glimpse",
            "--arch",
            "dram",
            "--task",
            "multidigit",
            "--data",
            str(mnist_dir),
            "--out",
            str(tmp_path / "dram"),
            "--steps",
            "2",
            "--batch",
            "4",
            "--val-every",
            "2",
            "--val-size",
            "4",
            "--mc-samples",
            "0",
            "--holdout",
            str(N_VAL),
            "--device",
            "cpu",
            "--no-progress",
            "--glimpses",
            "1",
            "--model-option",
            "hidden=32",
            "--model-option",
            "glimpse_channels=[8, 8]",
        ],
    )
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "dram" / "export" / "config.json").read_text())
    assert config["arch"] == "dram" and config["model"]["max_length"] == 5
    assert config["model"]["hidden"] == 32 and config["model"]["glimpse_channels"] == [8, 8]
    scores = json.loads(
        CliRunner()
        .invoke(
            app,
            [
                "eval",
                "--model",
                str(tmp_path / "dram" / "export"),
                "--data",
                str(mnist_dir),
                "--limit",
                "6",
                "--json",
                "--holdout",
                str(N_VAL),
            ],
        )
        .output
    )
    assert scores["count"] == 6 and "cer" in scores and scores["cer"] >= 0.0
    assert 0.0 <= scores["wrong_length"] <= 1.0 and set(scores["error_by_length"]) <= {"1", "2", "3", "4", "5"}


def test_sequence_error_by_length_counts_wrong_strings_per_true_length() -> None:
    pairs = [("7", "7"), ("7", "1"), ("42", "42"), ("123", "12"), ("123", "123"), ("123", "128"), ("55", "55")]
    assert sequence_error_by_length(pairs) == {"1": 0.5, "2": 0.0, "3": round(2 / 3, 5)}


def _one_step_run(mnist_dir: Path, out: Path, *extra: str) -> Any:
    """``textlens train glimpse`` for one step on the fake digits, with ``extra`` options."""
    args = ["glimpse", "--data", str(mnist_dir), "--out", str(out), "--steps", "1", "--device", "cpu", "--no-progress"]
    return CliRunner().invoke(train_app, [*args, *extra])


def test_init_carries_the_models_shape_and_std_unless_an_option_sets_them(mnist_dir: Path, tmp_path: Path) -> None:
    small = ["--batch", "4", "--val-size", "4", "--mc-samples", "0", "--holdout", str(N_VAL)]
    first = _one_step_run(mnist_dir, tmp_path / "a", *small, "--model-option", "hidden=16", "--std", "0.07")
    assert first.exit_code == 0, first.output
    # No options: the export's hidden size (else the weights would not fit) and its σ.
    second = _one_step_run(mnist_dir, tmp_path / "b", *small, "--init", str(tmp_path / "a" / "export"))
    assert second.exit_code == 0, second.output
    model = json.loads((tmp_path / "b" / "export" / "config.json").read_text())["model"]
    assert model["hidden"] == 16 and model["std"] == 0.07
    # From a Lightning checkpoint, with σ set again on the command line.
    third = _one_step_run(
        mnist_dir, tmp_path / "c", *small, "--init", str(tmp_path / "b" / "best.ckpt"), "--std", "0.02"
    )
    assert third.exit_code == 0, third.output
    model = json.loads((tmp_path / "c" / "export" / "config.json").read_text())["model"]
    assert model["hidden"] == 16 and model["std"] == 0.02
    wrong = _one_step_run(
        mnist_dir,
        tmp_path / "d",
        *small,
        "--arch",
        "dram",
        "--task",
        "multidigit",
        "--init",
        str(tmp_path / "a" / "export"),
    )
    assert wrong.exit_code == 1 and "is a ram model, not dram" in " ".join(wrong.output.split())
    broken = tmp_path / "broken.ckpt"
    broken.write_bytes(b"not a checkpoint")
    unreadable = _one_step_run(mnist_dir, tmp_path / "e", *small, "--init", str(broken))
    assert unreadable.exit_code == 1 and "cannot read the checkpoint" in " ".join(unreadable.output.split())
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "config.json").write_text("{not json")
    malformed = _one_step_run(mnist_dir, tmp_path / "f", *small, "--init", str(tmp_path / "bad"))
    assert malformed.exit_code == 1 and "config.json is not valid JSON" in " ".join(malformed.output.split())


@pytest.mark.parametrize(
    ("arch", "kwargs"),
    [
        ("ram", {"image_size": [28, 28], "glimpse_size": 8, "scales": 1, "glimpses": 3}),
        ("dram", {"image_size": [32, 64], "max_length": 3, "glimpse_size": 8, "scales": 2, "hidden": 32}),
    ],
)
def test_a_grown_sensor_starts_out_computing_what_its_init_did(arch: str, kwargs: dict[str, Any]) -> None:
    torch.manual_seed(0)
    build = RAM if arch == "ram" else DRAM
    small, grown = build(**kwargs).eval(), build(**{**kwargs, "scales": kwargs["scales"] + 1}).eval()
    state = grow_sensor_input(small.state_dict(), grown)
    load_state(grown, state, "init.safetensors")
    added = grown.state_dict()[grown.sensor_input][:, small.state_dict()[small.sensor_input].shape[1] :]
    assert added.numel() > 0 and torch.count_nonzero(added) == 0
    images = torch.rand(4, 1, *kwargs["image_size"])
    with torch.no_grad():
        assert torch.allclose(small.predict_proba(images), grown.predict_proba(images), atol=1e-6)
    # Without growing, the mismatch is a ModelError that names the weights, not a torch traceback.
    with pytest.raises(ModelError, match=r"init\.safetensors.*do not fit"):
        load_state(build(**{**kwargs, "scales": kwargs["scales"] + 1}), small.state_dict(), "init.safetensors")


def test_init_into_more_scales_trains_from_the_cli(mnist_dir: Path, tmp_path: Path) -> None:
    small = ["--batch", "4", "--val-size", "4", "--mc-samples", "0", "--holdout", str(N_VAL)]
    first = _one_step_run(mnist_dir, tmp_path / "a", *small)
    assert first.exit_code == 0, first.output
    grown = _one_step_run(
        mnist_dir, tmp_path / "b", *small, "--init", str(tmp_path / "a" / "best.ckpt"), "--model-option", "scales=2"
    )
    assert grown.exit_code == 0, grown.output
    assert json.loads((tmp_path / "b" / "export" / "config.json").read_text())["model"]["scales"] == 2


def test_model_option_needs_key_and_value(mnist_dir: Path, tmp_path: Path) -> None:
    result = _one_step_run(mnist_dir, tmp_path / "x", "--model-option", "hidden")
    assert result.exit_code == 2 and "--model-option expects KEY=VALUE" in result.output


def test_ram_refuses_string_tasks(mnist_dir: Path, tmp_path: Path) -> None:
    result = _one_step_run(mnist_dir, tmp_path / "x", "--task", "multidigit")
    assert result.exit_code == 2 and "dram" in result.output  # a usage error (ConfigError)


def test_show_writes_a_png_and_a_gif(trained_ram: Path, tmp_path: Path) -> None:
    from PIL import Image

    digit = tmp_path / "digit.png"
    Image.fromarray(fake_digits(1)[0][0]).save(digit)
    for name, extra in [("path.png", []), ("path.gif", ["--gif"])]:
        result = CliRunner().invoke(
            app,
            ["show", str(digit), "--model", str(trained_ram / "export"), "-o", str(tmp_path / name), *extra],
        )
        assert result.exit_code == 0, result.output
        with Image.open(tmp_path / name) as picture:
            assert picture.size == (280, 280 + 28)  # a caption band on top
            assert getattr(picture, "n_frames", 1) == (7 if extra else 1)  # 6 glimpses + the summary frame
    traj = trajectory(load_glimpse(trained_ram / "export"), fake_digits(1)[0][0])
    assert len(traj.locations) == 6 and len(traj.boxes[0]) == 1


def test_eval_command_reports_error_on_the_validation_split(trained_ram: Path, mnist_dir: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "eval",
            "--model",
            str(trained_ram / "export"),
            "--data",
            str(mnist_dir),
            "--limit",
            "10",
            "--json",
            "--holdout",
            str(N_VAL),
        ],
    )
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output)
    assert scores["count"] == 10 and scores["error"] == pytest.approx(1 - scores["accuracy"])
    args = [
        "eval",
        "--model",
        str(trained_ram / "export"),
        "--data",
        str(mnist_dir),
        "--limit",
        "10",
        "--json",
        "--holdout",
        str(N_VAL),
        "--samples",
        "3",
    ]
    runs = [json.loads(CliRunner().invoke(app, args).output) for _ in range(2)]
    assert runs[0] == runs[1] and runs[0]["samples"] == 3  # sampled paths are seeded: scores repeat


def test_show_reports_a_missing_image(trained_ram: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "show",
            str(tmp_path / "nope.png"),
            "--model",
            str(trained_ram / "export"),
            "-o",
            str(tmp_path / "o.png"),
        ],
    )
    assert result.exit_code == 1 and "nope.png" in result.output


def test_mnist_comes_from_data_or_textlens_data_and_is_never_guessed(
    mnist_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from textlens.data.digits import default_mnist

    monkeypatch.delenv("TEXTLENS_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="TEXTLENS_DATA"):
        default_mnist()
    result = CliRunner().invoke(app, ["sample", str(tmp_path / "s.png")])
    assert result.exit_code == 2 and "--data" in result.output and not (tmp_path / "s.png").exists()
    monkeypatch.setenv("TEXTLENS_DATA", str(tmp_path))
    with pytest.raises(ConfigError, match="no MNIST folder at"):
        default_mnist()
    (tmp_path / "mnist").symlink_to(mnist_dir)
    assert default_mnist() == tmp_path / "mnist"
    assert len(build_task("mnist", "val", val_size=N_VAL)) == N_VAL


def test_svhn_task_crops_numbers_into_the_canvas_and_trains_dram(tmp_path: Path) -> None:
    from PIL import Image

    from tests.test_readers import write_digit_struct

    entries = []
    for i in range(20):
        Image.fromarray(np.full((50, 80, 3), 40 + i, np.uint8)).save(tmp_path / f"{i}.png")
        entries.append((f"{i}.png", [(1 + i % 9, 5, 10, 8, 20), (10, 6, 19, 9, 21)]))
    entries.append(("long.png", [(1, 5, 5, 5, 5)] * 6))  # over 5 digits: skipped
    write_digit_struct(tmp_path / "digitStruct.mat", entries)
    train, val = build_task("svhn", "train", tmp_path), build_task("svhn", "val", tmp_path)
    assert len(train) == 19 and len(val) == 1  # the last 5 % validate
    image, label = val.sample(0)
    assert image.shape == (64, 160) and label == "20"  # entry 19: digits 2 and 0 (label 10)
    result = CliRunner().invoke(
        train_app,
        [
            "glimpse",
            "--arch",
            "dram",
            "--task",
            "svhn",
            "--data",
            str(tmp_path),
            "--out",
            str(tmp_path / "run"),
            "--steps",
            "1",
            "--batch",
            "2",
            "--val-every",
            "1",
            "--mc-samples",
            "0",
            "--glimpses",
            "1",
            "--device",
            "cpu",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
