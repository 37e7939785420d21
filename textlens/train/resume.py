"""``--resume``: the checkpoint a run continues from, and the options that conflict with it.

Refused (a ConfigError naming the checkpoint, exit 2): an ``--arch`` other than the checkpoint's (the model
comes from the checkpoint) and ``--steps`` below the step it reached (``--steps`` equal to it trains nothing
and only finishes the run: export and summary, which a kill after the last checkpoint left undone); each
trainer also refuses its other options that would build another model (``train rec``: ``--charset``,
``--height``, ``--channels``, ``--finetune``; ``train glimpse``: ``--task``). Warned about: data options that
change the stream (``--data``, ``--batch``, ``--seed``, ``--devices``), as it then no longer continues
exactly where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textlens.errors import ConfigError, ModelError
from textlens.models.serialization import read_checkpoint
from textlens.train.callbacks import resume_checkpoint


@dataclass(frozen=True)
class ResumePoint:
    """A run's ``last.ckpt`` as ``--resume`` reads it."""

    path: Path
    step: int
    hparams: dict[str, Any]
    blob: dict[str, Any]

    def saved_stream(self, holder: str) -> dict[str, Any] | None:
        """The stream fingerprint the data module ``holder`` (its class name) saved, if any."""
        state = self.blob.get(holder)
        return state.get("stream") if isinstance(state, dict) else None

    def callback_state(self, prefix: str) -> dict[str, Any]:
        """The saved state of the first callback whose state key starts with ``prefix`` ({} if none)."""
        states = self.blob.get("callbacks", {})
        return next((v for k, v in states.items() if str(k).startswith(prefix)), {})


def resume_point(out: Path, steps: int, arch: str | None = None) -> ResumePoint:
    """``OUT/last.ckpt`` checked against the options: a ConfigError for a conflicting ``arch`` or ``steps``."""
    path = resume_checkpoint(out)
    blob = read_checkpoint(path)
    hparams = dict(blob.get("hyper_parameters", {})) if isinstance(blob, dict) else {}
    if "arch" not in hparams:
        raise ModelError("checkpoint has no hyper-parameters to resume from", path)
    step = int(blob.get("global_step", 0))
    if arch is not None and arch != hparams["arch"]:
        raise ConfigError(
            f"--arch {arch} conflicts with the checkpoint, which trains {hparams['arch']}: resume it as "
            f"{hparams['arch']}, or start a new run in another --out",
            path,
        )
    # At exactly the reached step nothing is trained: the run only finishes (export and summary), which a
    # kill between the last checkpoint and the export left undone.
    if steps < step:
        raise ConfigError(
            f"--steps {steps}: the checkpoint already reached step {step}; give --steps {step} to finish that "
            "run, or a larger --steps to train on (--steps counts every step, those before the checkpoint included)",
            path,
        )
    return ResumePoint(path, step, hparams, blob)


def stream_warning(point: ResumePoint | None, datamodule: Any, ranks: int) -> str | None:
    """A warning when ``datamodule`` on ``ranks`` ranks would draw another stream than the checkpoint's run
    (None when they agree, when not resuming, or for a checkpoint that saved no stream)."""
    saved = None if point is None else point.saved_stream(type(datamodule).__qualname__)
    if point is None or not saved:
        return None
    now = datamodule.fingerprint(ranks)
    changed = [f"{key} {saved.get(key)!r} -> {value!r}" for key, value in now.items() if saved.get(key) != value]
    if not changed:
        return None
    return (
        f"warning: {point.path}: the data options differ from the checkpoint's ({'; '.join(changed)}), so the "
        f"data stream does not continue exactly where step {point.step} left it"
    )
