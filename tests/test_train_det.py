"""``train det``: sources, training crops, and the CLI training, exporting and resuming a tiny detector."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from textlens.data.manifest import ManifestWriter
from textlens.errors import ConfigError
from textlens.train.det_data import CropPolicy, make_targets, training_crop
from textlens.train.det_sources import FakePages, ManifestPages, parse_page_source


def write_pages(folder: Path, n: int = 3) -> Path:
    with ManifestWriter(folder) as writer:
        for i in range(n):
            writer.add(FakePages(n, seed=7)[i])
    return writer.manifest_path


def cli() -> typer.Typer:
    from textlens.cli.train_det import det

    app = typer.Typer()
    app.command("det")(det)

    @app.command("other")
    def other() -> None:  # a second command keeps "det" a subcommand, as in the real CLI
        """Unused."""

    return app


def test_source_specs_parse_paths_options_and_weights() -> None:
    spec = parse_page_source("manifest:pages.jsonl,start=2,stop=5,weight=3")
    assert (spec.kind, spec.path, spec.weight) == ("manifest", "pages.jsonl", 3.0)
    assert spec.int_option("start", 0) == 2 and spec.int_option("stop", None) == 5
    for bad in ("pages:x", "manifest:", "fake-pages:n=2,weight=0", "manifest:a,b"):
        with pytest.raises(ConfigError):
            parse_page_source(bad)


def _db_maps() -> tuple[dict, dict]:
    """Fixed DB maps and targets (seeded), the shapes a DBNet and ``make_targets`` give."""
    torch = pytest.importorskip("torch")
    g = torch.Generator().manual_seed(0)
    prob = torch.rand(2, 1, 32, 32, generator=g)
    thresh = torch.rand(2, 1, 32, 32, generator=g)
    outputs = {"prob": prob, "thresh": thresh, "binary": torch.sigmoid(50.0 * (prob - thresh))}
    targets = {
        "gt": (torch.rand(2, 32, 32, generator=g) > 0.7).to(torch.uint8),
        "mask": (torch.rand(2, 32, 32, generator=g) > 0.1).to(torch.uint8),
        "thresh": (torch.rand(2, 32, 32, generator=g) * 0.4 + 0.3).half(),
        "thresh_mask": (torch.rand(2, 32, 32, generator=g) > 0.5).to(torch.uint8),
    }
    return outputs, targets


def _east_maps() -> tuple[dict, dict]:
    """Fixed EAST maps and targets (seeded): score N×1×h×w, geometry N×5×h×w (4 distances, an angle)."""
    torch = pytest.importorskip("torch")
    g = torch.Generator().manual_seed(1)

    def geometry() -> object:
        distances = torch.rand(2, 4, 16, 16, generator=g) * 64
        return torch.cat([distances, (torch.rand(2, 1, 16, 16, generator=g) - 0.5) * (np.pi / 2)], 1)

    outputs = {"geo": geometry(), "prob": torch.rand(2, 1, 16, 16, generator=g)}
    gt_geo = geometry()
    targets = {
        "score": (torch.rand(2, 16, 16, generator=g) > 0.6).to(torch.uint8),
        "mask": (torch.rand(2, 16, 16, generator=g) > 0.1).to(torch.uint8),
        "geo": gt_geo,
    }
    return outputs, targets


def test_detection_losses_keep_the_values_they_had_inside_the_models() -> None:
    from textlens.models.registry import create_model
    from textlens.train.det_loss import detection_loss

    # Measured with DBLoss and EASTLoss when the models still owned them (same maps, same seeds).
    expected = {
        "db": {"loss": 4.272231101989746, "prob": 1.0520554780960083, "binary": 0.6216671466827393,
               "thresh": 0.2598508596420288},
        "east": {"loss": 3.6334052085876465, "score": 0.5348162651062012, "geo": 3.0985889434814453},
    }  # fmt: skip
    for method, maps in (("db", _db_maps), ("east", _east_maps)):
        got = {key: float(value) for key, value in detection_loss(method, *maps()).items()}
        assert got == pytest.approx(expected[method], abs=1e-6)
    assert not any(hasattr(create_model(name), "loss") for name in ("db_tiny", "east_small"))  # pure modules


def test_manifest_pages_take_the_requested_slice(tmp_path: Path) -> None:
    manifest = write_pages(tmp_path, 3)
    pages = ManifestPages(str(manifest), start=1)
    assert len(pages) == 2
    assert pages[0].words and pages[0].image.shape == (320, 256, 3)


def test_training_crops_keep_words_on_their_ink() -> None:
    page = FakePages(4, seed=3)[0]
    rng = np.random.default_rng(0)
    policy = CropPolicy(size=128, long_side=256, rotate_prob=0.0)
    for _ in range(5):
        crop, polygons, ignore = training_crop(page, policy, rng)
        assert crop.shape == (128, 128, 3) and crop.dtype == np.uint8
        targets = make_targets("db", polygons, ignore, 128)
        assert targets["gt"].shape == (128, 128) and targets["thresh"].dtype == np.float16
        grey = crop.mean(axis=2)
        for poly, dont_care in zip(polygons, ignore, strict=True):
            x0, y0 = np.clip(poly.min(axis=0), 0, 127).astype(int)
            x1, y1 = np.clip(poly.max(axis=0), 0, 127).astype(int)
            if not dont_care and x1 > x0 and y1 > y0:
                # Ink (darker than the page) lies inside every fully visible word box.
                assert grey[y0 : y1 + 1, x0 : x1 + 1].min() < np.median(grey) - 20


def test_train_det_runs_exports_an_onnx_detector_and_resumes(tmp_path: Path) -> None:
    from textlens.runtime.detector import OnnxDetector

    manifest = write_pages(tmp_path / "val", 2)
    out = tmp_path / "run"
    args = [
        "det",
        "--arch",
        "db_tiny",
        "--data",
        "fake-pages:n=8",
        "--val",
        f"manifest:{manifest}",
        "--steps",
        "3",
        "--batch",
        "2",
        "--size",
        "96",
        "--long-side",
        "256",
        "--out",
        str(out),
        "--workers",
        "0",
        "--val-every",
        "3",
        "--device",
        "cpu",
        "--no-progress",
        "--precision",
        "fp32",
    ]
    result = CliRunner().invoke(cli(), args)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 3 and summary["final_val"]["pages"] == 2
    config = json.loads((out / "export" / "config.json").read_text())
    assert config["family"] == "detection" and config["arch"] == "db_tiny"
    assert config["input"]["long_side"] == 256 and config["postprocess"]["thresh"] == 0.3
    for name in ("model.safetensors", "model.onnx", "config.json"):
        assert (out / "export" / name).is_file()
    detector = OnnxDetector(out / "export", threads=1)
    assert isinstance(detector.detect(FakePages(1)[0].image), list)

    result = CliRunner().invoke(
        cli(),
        [*args[: args.index("--steps")], "--steps", "4", *args[args.index("--steps") + 2 :], "--resume"],
    )
    assert result.exit_code == 0, result.output
    assert json.loads((out / "summary.json").read_text())["steps"] == 4


def test_resuming_from_an_unreadable_checkpoint_names_it(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "last.ckpt").write_bytes(b"half a checkpoint")
    args = ["det", "--arch", "db_tiny", "--data", "fake-pages:n=4", "--out", str(out), "--device", "cpu"]
    result = CliRunner().invoke(cli(), [*args, "--no-progress", "--resume"])
    message = " ".join(result.output.split())
    assert result.exit_code == 1 and "cannot read the checkpoint" in message and "last.ckpt" in message


def test_train_det_stops_at_the_wall_clock_budget_and_still_exports(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = [
        "det",
        "--arch",
        "db_tiny",
        "--data",
        "fake-pages:n=4",
        "--steps",
        "1000",
        "--batch",
        "1",
        "--size",
        "64",
        "--out",
        str(out),
        "--workers",
        "0",
        "--device",
        "cpu",
        "--no-progress",
        "--max-minutes",
        "0.0001",
        "--precision",
        "fp32",
    ]
    result = CliRunner().invoke(cli(), args)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stopped_by_budget"] and summary["steps"] < 1000
    assert (out / "last.ckpt").is_file() and (out / "export" / "model.onnx").is_file()


def test_train_det_reports_bad_sources_cleanly(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli(),
        [
            "det",
            "--data",
            "nope:x",
            "--out",
            str(tmp_path / "r"),
            "--steps",
            "1",
            "--device",
            "cpu",
            "--no-progress",
        ],
    )
    assert result.exit_code == 2
    assert "kind must be one of" in result.output
