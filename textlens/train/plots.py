"""Training curves as a picture: ``RUN/logs/metrics.csv`` (Lightning's CSV log) → ``RUN/logs/curves.png``.

Panels, each drawn only when the log has its columns, all by training step: the losses (``train/loss`` and the
other ``*loss*`` columns, log scale when they span more than a factor of 20), the error rates (``val/cer``,
``val/error``: lower is better), the accuracies and F-scores (``val/word_acc``, ``train/acc``, ``val/f1``,
``val/precision``, ``val/recall``: higher is better) and the learning rates (``lr-*``). Every trainer writes it at
the end of a run (``textlens.train.callbacks.CurvesPlot``); ``textlens train plot RUN`` draws it on demand.

Imports neither torch nor pyplot: matplotlib's Agg canvas draws into a Figure of its own, so a training process
or a server never touches a display or the global backend. matplotlib is the ``viz`` extra (also in ``train``).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from pathlib import Path

from textlens.errors import ConfigError, FileNotFound
from textlens.io.atomic import atomic_path

CURVES_NAME = "curves.png"
DPI = 100
PANEL_SIZE = (6.4, 3.2)  # inches per panel
SMOOTH, SMOOTH_FROM = 10, 20  # a loss logged more than SMOOTH_FROM times also gets a running mean of SMOOTH values

_ERROR_COLUMNS = ("cer", "error", "wer")
_SCORE_COLUMNS = ("acc", "f1", "precision", "recall", "hmean")


def _kind(column: str) -> str | None:
    name = column.lower()
    if name.startswith("lr-") or name.startswith("lr/") or name == "lr":
        return "lr"
    if "loss" in name:
        return "loss"
    leaf = name.rsplit("/", 1)[-1]
    if any(leaf == c or leaf.endswith("_" + c) or leaf.startswith(c + "_") for c in _ERROR_COLUMNS):
        return "error"
    if any(leaf == c or leaf.endswith("_" + c) or leaf.startswith(c + "_") for c in _SCORE_COLUMNS):
        return "score"
    return None


PANELS = (
    ("loss", "loss"),
    ("error", "error rate (CER, error; lower is better)"),
    ("score", "accuracy / F-score (higher is better)"),
    ("lr", "learning rate"),
)


def read_metrics(path: str | Path) -> dict[str, list[tuple[float, float]]]:
    """Each numeric column of a Lightning CSV log as ``[(step, value), ...]`` sorted by step (the last value
    logged at a step wins, so a resumed run's rewritten steps count once)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFound("no metrics.csv here (a run writes it to RUN/logs/)", source=str(path))
    series: dict[str, dict[float, float]] = {}
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or "step" not in reader.fieldnames:
            raise ConfigError(f"{path} is not a training log: it has no 'step' column")
        for row in reader:
            try:
                step = float(row["step"])
            except (TypeError, ValueError):
                continue
            for column, raw in row.items():
                if column in ("step", "epoch") or column is None or raw in (None, ""):
                    continue
                try:
                    value = float(raw)
                except ValueError:
                    continue
                if math.isfinite(value):
                    series.setdefault(column, {})[step] = value
    return {column: sorted(points.items()) for column, points in series.items()}


def metrics_path(run: str | Path) -> Path:
    """The metrics.csv of ``run``: a run folder (``RUN/logs/metrics.csv``), its logs folder, or the file."""
    run = Path(run)
    for candidate in (run, run / "metrics.csv", run / "logs" / "metrics.csv"):
        if candidate.is_file():
            return candidate
    raise FileNotFound("no training log: expected RUN/logs/metrics.csv", source=str(run))


def _panels(series: dict[str, list[tuple[float, float]]]) -> list[tuple[str, list[str]]]:
    chosen = []
    for kind, title in PANELS:
        columns = sorted(c for c in series if _kind(c) == kind)
        if kind == "lr" and len(columns) > 1:  # parameter groups on one schedule draw one line
            distinct = {tuple(series[c]) for c in columns}
            if len(distinct) == 1:
                columns = columns[:1]
        if columns:
            chosen.append((title, columns))
    return chosen


def _running_mean(values: Iterable[float], window: int | None = None) -> list[float]:
    """The mean of the last ``window`` values (fewer at the start) at each point."""
    window = window or SMOOTH
    values = list(values)
    out, total = [], 0.0
    for i, value in enumerate(values):
        total += value
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def plot_metrics(path: str | Path, out: str | Path | None = None, title: str | None = None) -> Path:
    """Draw the curves of the CSV log at ``path`` into a PNG (default ``curves.png`` beside it); returns it."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(
            "training curves are drawn with matplotlib, which is not installed: pip install 'textlens[viz]'"
        ) from exc

    path = Path(path)
    series = read_metrics(path)
    panels = _panels(series)
    if not panels:
        raise ConfigError(f"{path} holds no loss, error, accuracy or learning-rate values yet")
    out = Path(out) if out is not None else path.with_name(CURVES_NAME)
    figure = Figure(figsize=(PANEL_SIZE[0], PANEL_SIZE[1] * len(panels)), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (panel_title, columns) in zip(axes, panels, strict=True):
        values: list[float] = []
        for column in columns:
            steps, ys = zip(*series[column], strict=True)
            many = len(steps) > 1
            if _kind(column) == "loss" and len(ys) > SMOOTH_FROM:  # noisy: faint raw values, a running mean on top
                line = ax.plot(steps, ys, alpha=0.3, linewidth=0.8)[0]
                ax.plot(steps, _running_mean(ys), color=line.get_color(), label=f"{column} (mean of {SMOOTH})")
            else:
                ax.plot(steps, ys, label=column, marker=None if many else "o", linewidth=1.2)
            values.extend(ys)
            if many and _kind(column) in ("error", "score"):  # the best value, marked
                best = min(ys) if _kind(column) == "error" else max(ys)
                at = steps[ys.index(best)]
                ax.annotate(f"{best:.4g}", (at, best), textcoords="offset points", xytext=(4, 4), fontsize=7)
        positive = [v for v in values if v > 0]
        if panel_title in ("loss", "learning rate") and positive and max(positive) / min(positive) > 20:
            ax.set_yscale("log")
        ax.set_title(panel_title, fontsize=9, loc="left")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="best")
        ax.tick_params(labelsize=7)
    axes[-1].set_xlabel("step", fontsize=8)
    figure.suptitle(title or path.parent.parent.name or str(path), fontsize=10)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        figure.savefig(tmp, format="png")
    return out


def plot_run(run: str | Path, out: str | Path | None = None) -> Path:
    """``plot_metrics`` of a run folder's log (see ``metrics_path``), titled with the run's name."""
    path = metrics_path(run)
    name = path.parent.parent.name if path.parent.name == "logs" else path.parent.name
    return plot_metrics(path, out, title=name)


def columns_by_kind(columns: Iterable[str]) -> dict[str, list[str]]:
    """Which panel each column goes to (columns of no panel are left out): for tests and ``--help`` texts."""
    out: dict[str, list[str]] = {}
    for column in columns:
        kind = _kind(column)
        if kind is not None:
            out.setdefault(kind, []).append(column)
    return out
