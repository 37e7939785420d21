"""DetectionSystem: the Lightning module training any registered detector (DBNet or EAST)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from torch import Tensor

from textlens.eval.layout import PredWord
from textlens.eval.pages import match_page, prf
from textlens.models.registry import create_model
from textlens.runtime.detector import DEFAULT_INPUT
from textlens.runtime.postprocess import DEFAULT_DB, DEFAULT_EAST, db_postprocess, east_postprocess
from textlens.train.common import adamw, step_lr_scheduler
from textlens.train.det_loss import detection_loss


def method_of(model: Any) -> str:
    """``east`` for models with RBOX geometry, else ``db``."""
    return "east" if "geo" in getattr(model, "outputs", ()) else "db"


class DetectionSystem(pl.LightningModule):
    """Owns a detector, its loss (``textlens.train.det_loss``), optimiser, schedule and validation P/R/F1."""

    def __init__(
        self,
        arch: str,
        model_kwargs: dict[str, Any],
        lr: float = 2e-3,
        weight_decay: float = 1e-4,
        max_steps: int = 10_000,
        warmup: float = 0.03,
        schedule: str = "cosine",
        channels_last: bool = True,
        input_spec: dict[str, Any] | None = None,
        postprocess: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.model = create_model(arch, **model_kwargs)
        self.method = method_of(self.model)
        self.input_spec = {**DEFAULT_INPUT, **(input_spec or {})}
        defaults = DEFAULT_EAST if self.method == "east" else DEFAULT_DB
        self.postprocess = {**defaults, **(postprocess or {})}
        self.register_buffer("mean", torch.tensor(self.input_spec["mean"]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(self.input_spec["std"]).view(1, 3, 1, 1), persistent=False)
        self._val = np.zeros(3)  # ground-truth words, predicted words, matched pairs

    def on_fit_start(self) -> None:
        if self.hparams.channels_last:
            self.model.to(memory_format=torch.channels_last)

    def images(self, batch: dict[str, Any]) -> Tensor:
        """Training crops travel as uint8 and are normalised here, on the device."""
        images = batch["images"]
        if images.dtype == torch.uint8:
            images = (images.float() / 255.0 - self.mean) / self.std
        if self.hparams.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        return images

    # ---------------------------------------------------------------- loss
    def compute_loss(self, batch: dict[str, Any]) -> dict[str, Tensor]:
        """The detector's loss on a training batch (crops and their targets): ``loss`` and its terms."""
        return detection_loss(self.method, self.model(self.images(batch)), batch)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        losses = self.compute_loss(batch)
        size = len(batch["images"])
        self.log("train/loss", losses["loss"], prog_bar=True, batch_size=size)
        for key, value in losses.items():
            if key != "loss":
                self.log(f"train/{key}", value, batch_size=size)
        return losses["loss"]

    # ---------------------------------------------------------------- validation
    def decode(self, outputs: dict[str, Tensor], scale: tuple[float, float], size: tuple[int, int]) -> list[Any]:
        prob = outputs["prob"].float().cpu().numpy()[0, 0]
        if self.method == "east":
            geo = outputs["geo"].float().cpu().numpy()[0]
            return east_postprocess(prob, geo, int(self.model.stride), scale, size, **self.postprocess)
        return db_postprocess(prob, scale, size, **self.postprocess)

    def on_validation_epoch_start(self) -> None:
        self._val = np.zeros(3)

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        outputs = self.model(self.images(batch))
        detections = self.decode(outputs, batch["scale"], batch["size"])
        preds = [PredWord(text="", box=d.box, polygon=tuple(map(tuple, d.polygon.tolist()))) for d in detections]
        counts = match_page(batch["words"], preds, iou="box").counts
        self._val += (counts.gt, counts.pred, counts.matched)

    def on_validation_epoch_end(self) -> None:
        totals = self.trainer.strategy.reduce(torch.tensor(self._val, device=self.device), reduce_op="sum")
        gt, pred, matched = (int(v) for v in totals.tolist())
        scores = prf(matched, pred, gt)
        self.log("val/precision", scores.precision, sync_dist=False)
        self.log("val/recall", scores.recall, sync_dist=False)
        self.log("val/f1", scores.f1, prog_bar=True, sync_dist=False)

    # ---------------------------------------------------------------- optimisation
    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = adamw(self.model, self.hparams.lr, self.hparams.weight_decay)
        return step_lr_scheduler(self, optimizer, self.hparams.schedule)
