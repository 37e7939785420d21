"""Training curves: metrics.csv → curves.png, the end-of-run callback and ``textlens train plot``."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from textlens.errors import ConfigError, FileNotFound
from textlens.train.plots import CURVES_NAME, DPI, PANEL_SIZE, columns_by_kind, plot_run, read_metrics

pytest.importorskip("matplotlib")

# Lightning's CSV log as a recognition run writes it: learning rates and losses on their own rows,
# validation scores every 100 steps (the columns of runs/*/logs/metrics.csv).
HEADER = ["epoch", "lr-AdamW/pg1", "lr-AdamW/pg2", "step", "train/loss", "val/cer", "val/count", "val/word_acc"]


def _write_log(run: Path, steps: int = 400) -> Path:
    path = run / "logs" / "metrics.csv"
    path.parent.mkdir(parents=True)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for step in range(49, steps, 50):
            writer.writerow(["", 1e-4, 1e-4, step, "", "", "", ""])
            writer.writerow([0, "", "", step, 2.0 / (1 + step / 50), "", "", ""])
            if (step + 1) % 100 == 0:
                writer.writerow([0, "", "", step, "", 0.5 / (1 + step / 100), 200, 0.2 + step / 1000])
    return path


def test_read_metrics_keeps_numbers_by_step(tmp_path: Path) -> None:
    series = read_metrics(_write_log(tmp_path / "run"))
    assert [s for s, _ in series["val/cer"]] == [99, 199, 299, 399]
    assert series["train/loss"][0] == (49, pytest.approx(2.0 / (1 + 49 / 50)))
    assert "epoch" not in series
    kinds = columns_by_kind(series)
    assert kinds["loss"] == ["train/loss"] and kinds["error"] == ["val/cer"] and kinds["score"] == ["val/word_acc"]
    assert sorted(kinds["lr"]) == ["lr-AdamW/pg1", "lr-AdamW/pg2"] and all("val/count" not in v for v in kinds.values())


def test_plot_run_writes_a_png_beside_the_log(tmp_path: Path) -> None:
    log = _write_log(tmp_path / "run")
    written = plot_run(tmp_path / "run")
    assert written == log.with_name(CURVES_NAME)
    with Image.open(written) as picture:
        assert picture.format == "PNG"
        # four panels (loss, error, accuracy, learning rate), each PANEL_SIZE inches at DPI
        assert picture.size == (round(PANEL_SIZE[0] * DPI), round(4 * PANEL_SIZE[1] * DPI))
        pixels = np.asarray(picture.convert("RGB"))
    assert (pixels < 128).any() and (pixels > 250).any()  # something drawn on white


def test_a_detection_log_draws_its_f1(tmp_path: Path) -> None:
    path = tmp_path / "det" / "logs" / "metrics.csv"
    path.parent.mkdir(parents=True)
    path.write_text("epoch,step,train/loss,val/precision,val/recall,val/f1\n0,9,1.0,,,\n0,9,,0.5,0.4,0.44\n")
    with Image.open(plot_run(tmp_path / "det", tmp_path / "out.png")) as picture:
        assert picture.size == (round(PANEL_SIZE[0] * DPI), round(2 * PANEL_SIZE[1] * DPI))


def test_missing_or_empty_logs_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFound, match=r"metrics\.csv"):
        plot_run(tmp_path)
    path = tmp_path / "logs" / "metrics.csv"
    path.parent.mkdir()
    path.write_text("epoch,step,train/loss\n")
    with pytest.raises(ConfigError, match="no loss"):
        plot_run(tmp_path)


def test_cli_train_plot(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from textlens.cli.train import app

    _write_log(tmp_path / "run")
    result = CliRunner().invoke(app, ["plot", str(tmp_path / "run"), "-o", str(tmp_path / "c.png")])
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "c.png").format == "PNG"
    assert CliRunner().invoke(app, ["plot", str(tmp_path / "none")]).exit_code != 0


def test_the_end_of_run_callback_draws_and_never_fails_a_run(tmp_path: Path) -> None:
    pytest.importorskip("pytorch_lightning")
    from textlens.train.callbacks import CurvesPlot

    class Logger:
        saved = 0

        def save(self) -> None:
            Logger.saved += 1

    class Trainer:
        is_global_zero = True

        def __init__(self) -> None:
            self.loggers = [Logger()]

    _write_log(tmp_path / "run")
    CurvesPlot(tmp_path / "run").on_fit_end(Trainer(), None)  # type: ignore[arg-type]
    assert Logger.saved == 1 and (tmp_path / "run" / "logs" / CURVES_NAME).is_file()
    CurvesPlot(tmp_path / "empty").on_fit_end(Trainer(), None)  # type: ignore[arg-type]  # no log: a warning only
    assert not (tmp_path / "empty").exists()
