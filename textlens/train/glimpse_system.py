"""GlimpseSystem: the Lightning module training RAM and DRAM with the hybrid loss (classification NLL +
REINFORCE + baseline MSE); and the loading of ``--init`` weights into it.

RAM's reward is 1 when the digit is classified right after the last glimpse (the same return for every
location decision, Mnih et al. 2014). DRAM's reward is 1 for every symbol emitted right (digits and the end
token); a location decision made during the glimpses of symbol ``k`` is credited with the rewards of symbols
``k`` onward (its return-to-go), so the 0/1 reward of Ba et al. 2015 stays per object.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import Tensor

from textlens.models.glimpse.policy import reinforce_losses
from textlens.models.glimpse.predict import predict_texts
from textlens.models.registry import create_model
from textlens.models.serialization import load_state, read_state
from textlens.train.common import step_lr_scheduler
from textlens.train.glimpse_data import IGNORE


class GlimpseSystem(pl.LightningModule):
    """A RAM or DRAM model, its hybrid loss, Adam with warm-up + cosine decay, and the validation error."""

    def __init__(
        self,
        arch: str,
        model_kwargs: dict[str, Any],
        task: str,
        lr: float = 1e-3,
        max_steps: int = 20_000,
        warmup: float = 0.02,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.model = create_model(arch, **model_kwargs)
        self.arch = arch
        self._val = torch.zeros(2, dtype=torch.float64)  # right, count

    # ---------------------------------------------------------------- loss
    def losses(self, batch: dict[str, Any]) -> dict[str, Tensor]:
        out = self.model(batch["images"], stochastic=True)
        targets = batch["targets"]
        logits = out["logits"].float()
        if self.arch == "ram":
            nll = F.cross_entropy(logits, targets)
            reward = (logits.argmax(-1) == targets).float()
            returns = reward[:, None].expand_as(out["baselines"])
        else:
            nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORE)
            valid = targets != IGNORE
            correct = ((logits.argmax(-1) == targets) & valid).float()
            # Return-to-go per symbol, then repeated for each glimpse of that symbol.
            to_go = correct.flip(1).cumsum(1).flip(1)
            returns = to_go.repeat_interleave(self.model.glimpses_per_symbol, dim=1)
            reward = (correct.sum(1) == valid.sum(1)).float()  # whole string right, for the log
        reinforce, baseline = reinforce_losses(out["log_probs"], out["baselines"], returns)
        return {
            "loss": nll + reinforce + baseline,
            "nll": nll,
            "reinforce": reinforce,
            "baseline_mse": baseline,
            "reward": reward.mean(),
        }

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        terms = self.losses(batch)
        size = len(batch["texts"])
        self.log("train/loss", terms["loss"], prog_bar=True, batch_size=size)
        self.log("train/acc", terms["reward"], prog_bar=True, batch_size=size)
        for key in ("nll", "reinforce", "baseline_mse"):
            self.log(f"train/{key}", terms[key], batch_size=size)
        return terms["loss"]

    # ---------------------------------------------------------------- prediction
    @torch.no_grad()
    def predict_texts(self, images: Tensor, samples: int = 1) -> list[str]:
        return predict_texts(self.model, images, samples)

    def on_validation_epoch_start(self) -> None:
        self._val = torch.zeros(2, dtype=torch.float64)

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        for truth, pred in zip(batch["texts"], self.predict_texts(batch["images"]), strict=True):
            self._val += torch.tensor([truth == pred, 1], dtype=torch.float64)

    def on_validation_epoch_end(self) -> None:
        right, count = (float(v) for v in self._val)
        if count:
            self.log("val/error", 1.0 - right / count, prog_bar=True)
            self.log("val/count", count)

    # ---------------------------------------------------------------- optimisation
    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = torch.optim.Adam(self.model.parameters(), lr=self.hparams.lr)
        return step_lr_scheduler(self, optimizer, "cosine")


def grow_sensor_input(state: dict[str, Tensor], model: Any) -> dict[str, Tensor]:
    """Fit an init's weights to a model whose sensor reads more scales (``--model-option scales=3`` on a
    2-scale init): the added, coarser scales enter the patch-reading layer with zero weights, so the grown
    model starts out computing exactly what the init did and training teaches it to use the wider view."""
    key, scales = model.sensor_input, model.sensor.scales
    old, new = state.get(key), model.state_dict()[key]
    if old is None or old.shape == new.shape or new.shape[1] % scales:
        return state
    per_scale = new.shape[1] // scales  # inputs one scale contributes (channels, or channels × pixels)
    fits = old.shape[0] == new.shape[0] and old.shape[2:] == new.shape[2:]
    if not fits or old.shape[1] % per_scale or old.shape[1] > new.shape[1]:
        return state  # another change (glimpse size, channels): load_state reports the mismatch
    grown = torch.zeros_like(new)
    grown[:, : old.shape[1]] = old  # the patches are scale-major, finest first: the new scales come last
    return {**state, key: grown}


def load_init(model: Any, init: str | Path) -> None:
    """Start ``model`` from trained weights (``--init``: a checkpoint, a ``.safetensors`` or an export folder)."""
    path = Path(init)
    weights = path / "model.safetensors" if path.is_dir() else path
    load_state(model, grow_sensor_input(read_state(weights), model), weights)
