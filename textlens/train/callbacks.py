"""Training helpers around Lightning: atomic checkpoint files, a throughput meter, the curves' picture.

Lightning writes checkpoints through an fsspec transaction whose temporary file lives in the system
temp folder; when that is another filesystem the final move is a copy, and a crash mid-copy leaves a
truncated ``last.ckpt``. ``AtomicCheckpointIO`` writes next to the target and renames instead.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.plugins.io import TorchCheckpointIO

from textlens.errors import ConfigError
from textlens.io.atomic import atomic_path, remove_stale_temporaries

log = logging.getLogger(__name__)


class AtomicCheckpointIO(TorchCheckpointIO):
    """torch.save to a temporary file in the checkpoint's folder, then a rename onto the name
    (``textlens.io.atomic``); the first save also removes the temporaries a killed run left there."""

    def __init__(self) -> None:
        super().__init__()
        self._swept: set[Path] = set()

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.parent not in self._swept:
            remove_stale_temporaries(path.parent)
            self._swept.add(path.parent)
        with atomic_path(path) as tmp:
            torch.save(checkpoint, tmp)


class Throughput(pl.Callback):
    """Counts training samples and the wall time spent training (validation excluded), across restarts.

    Its state goes into every checkpoint and comes back with ``--resume``, so a resumed run's samples/s
    divides all its samples by all its seconds, those before the checkpoint included.
    """

    def __init__(self) -> None:
        self.samples = 0
        self.train_seconds = 0.0
        self._started: float | None = None

    def _resume(self) -> None:
        self._started = time.perf_counter()

    def _pause(self) -> None:
        if self._started is not None:
            self.train_seconds += time.perf_counter() - self._started
            self._started = None

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._resume()

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self.samples += len(batch["texts"]) * trainer.world_size

    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._pause()

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.state.fn == "fit":
            self._resume()

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._pause()

    @property
    def samples_per_second(self) -> float:
        return self.samples / self.train_seconds if self.train_seconds > 0 else 0.0

    def elapsed(self) -> float:
        """Training seconds so far, the running stretch included."""
        running = time.perf_counter() - self._started if self._started is not None else 0.0
        return self.train_seconds + running

    def state_dict(self) -> dict[str, Any]:
        # Checkpoints saved mid-stretch (every N steps, with no validation to pause the clock) must hold the
        # seconds up to their step, or a run resumed from them would count its samples over too few seconds.
        return {"samples": self.samples, "train_seconds": self.elapsed()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.samples = int(state_dict.get("samples", 0))
        self.train_seconds = float(state_dict.get("train_seconds", 0.0))


class FinalCheckpoint(pl.Callback):
    """Saves ``last.ckpt`` when training stops, so ``--resume`` starts from the very last step.

    Placed before any weight-averaging callback, so the checkpoint still holds the raw weights.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        trainer.save_checkpoint(self.path)


class CurvesPlot(pl.Callback):
    """At the end of a run, the training curves of ``OUT/logs/metrics.csv`` as ``OUT/logs/curves.png``
    (``textlens.train.plots``). A picture never fails a run: without matplotlib, or on any drawing error, it
    logs why and the run ends as it would have."""

    def __init__(self, out: str | Path) -> None:
        self.csv = Path(out) / "logs" / "metrics.csv"

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        try:
            for logger in trainer.loggers:
                logger.save()  # the CSV logger buffers rows between flushes
            from textlens.train.plots import plot_metrics

            written = plot_metrics(self.csv)
        except Exception as exc:  # a missing picture is not a failed training run
            log.warning("training curves not drawn (%s)", exc)
        else:
            log.info("training curves: %s", written)


class WallClockBudget(pl.Callback):
    """Stops training after ``minutes`` of this process's wall time (unlike ``max_time``, not carried by --resume).

    With ``fit_schedule`` it also ends the learning-rate decay when the budget does: from the steps per second
    measured so far in this process (validation included) it projects the last step the budget reaches and
    sets ``pl_module.schedule_horizon`` to it, so a run cut by the clock still finishes at the low learning
    rate instead of stopping mid-schedule (see ``textlens.train.common.lr_factor``).
    """

    # Projections start after this many steps of this process (start-up and the first batches are slow)
    # and are renewed every REFIT_EVERY steps.
    FIT_AFTER_STEPS = 50
    REFIT_EVERY = 25

    def __init__(self, minutes: float, fit_schedule: bool = False) -> None:
        self.seconds = minutes * 60.0
        self.fit_schedule = fit_schedule
        self.started = time.perf_counter()
        self.start_step = 0
        self.hit = False

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.started = time.perf_counter()
        self.start_step = trainer.global_step

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        elapsed = time.perf_counter() - self.started
        if elapsed >= self.seconds:
            self.hit = True
            trainer.should_stop = True
        elif self.fit_schedule:
            done = trainer.global_step - self.start_step
            if done >= self.FIT_AFTER_STEPS and done % self.REFIT_EVERY == 0:
                pl_module.schedule_horizon = projected_last_step(
                    trainer.global_step, done, elapsed, self.seconds, trainer.max_steps
                )


def wall_clock_budget(minutes: float | None, fit_schedule: bool) -> WallClockBudget | None:
    """The budget callback for ``--max-minutes`` (None without one); ``--fit-schedule`` needs a budget."""
    if fit_schedule and not minutes:
        raise ConfigError("--fit-schedule fits the learning-rate schedule to --max-minutes: give --max-minutes too")
    return WallClockBudget(minutes, fit_schedule) if minutes else None


def projected_last_step(step: int, done: int, elapsed: float, budget: float, max_steps: int) -> int:
    """The step a run at ``step`` reaches when the budget runs out, at the rate of its last ``done`` steps."""
    reachable = step + int(done / max(elapsed, 1e-9) * max(0.0, budget - elapsed))
    limit = max_steps if max_steps and max_steps > 0 else reachable
    return max(step + 1, min(limit, reachable))


def checkpoint_callback(out: Path, monitor: str | None, mode: str = "min", every_n_steps: int | None = None) -> Any:
    """``best.ckpt`` by ``monitor`` plus ``last.ckpt``; without a metric, only ``last.ckpt`` every N steps."""
    from pytorch_lightning.callbacks import ModelCheckpoint

    if monitor is not None:
        return ModelCheckpoint(
            dirpath=out,
            filename="best",
            monitor=monitor,
            mode=mode,
            save_top_k=1,
            save_last=True,
            enable_version_counter=False,
            auto_insert_metric_name=False,
        )
    return ModelCheckpoint(
        dirpath=out, save_top_k=0, save_last=True, every_n_train_steps=every_n_steps, enable_version_counter=False
    )


def resume_checkpoint(out: Path) -> Path:
    """``OUT/last.ckpt`` for ``--resume``; a ConfigError naming it when it is not there."""
    from textlens.errors import ConfigError

    path = Path(out) / "last.ckpt"
    if not path.is_file():
        raise ConfigError(f"--resume: no checkpoint to resume from at {path}")
    return path


def load_best_weights(model: torch.nn.Module, out: Path) -> Path | None:
    """Load ``best.ckpt`` (else ``last.ckpt``) of ``out`` into ``model``; the file used, or None if neither."""
    from textlens.models.serialization import load_weights

    for name in ("best.ckpt", "last.ckpt"):
        path = Path(out) / name
        if path.is_file():
            load_weights(model, path)
            return path
    return None


def step_trainer(
    out: Path,
    accelerator: str,
    precision: Any,
    steps: int,
    val_every: int | None,
    grad_clip: float,
    callbacks: list[Any],
    progress: bool,
    devices: int = 1,
    strategy: Any = "auto",
    refresh_rate: int = 50,
    num_nodes: int = 1,
) -> pl.Trainer:
    """A step-counted Lightning Trainer as every textlens trainer uses it: validation every ``val_every``
    steps (None: never), atomic checkpoints, a CSV log in OUT/logs, no sanity validation; with
    ``progress``, a rich progress bar on a terminal, else a plain one every ``refresh_rate`` steps; at the end
    the curves as OUT/logs/curves.png (``CurvesPlot``)."""
    from pytorch_lightning.callbacks import RichProgressBar, TQDMProgressBar
    from pytorch_lightning.loggers import CSVLogger

    callbacks = [*callbacks, CurvesPlot(out)]
    if progress:
        callbacks = [*callbacks, RichProgressBar() if sys.stdout.isatty() else TQDMProgressBar(refresh_rate)]

    return pl.Trainer(
        accelerator="gpu" if accelerator == "cuda" else "cpu",
        devices=devices,
        num_nodes=num_nodes,
        strategy=strategy,
        precision=precision,
        max_steps=steps,
        max_epochs=-1,
        val_check_interval=val_every,
        check_val_every_n_epoch=None,
        limit_val_batches=None if val_every else 0,
        num_sanity_val_steps=0,
        gradient_clip_val=grad_clip,
        default_root_dir=out,
        plugins=[AtomicCheckpointIO()],
        logger=CSVLogger(out, name="logs", version=""),
        callbacks=callbacks,
        log_every_n_steps=min(50, max(1, val_every or 50)),
        enable_progress_bar=progress,
        enable_model_summary=progress,
    )
