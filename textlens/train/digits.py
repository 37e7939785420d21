"""``textlens digits train``: train a single-digit classifier (``digits_cnn``) with Lightning, pick the best
checkpoint by validation error, measure it and export ``OUT/export/{config.json, model.safetensors, model.onnx}``.

Two sources: ``mnist`` (the MNIST training IDX files; the last ``holdout`` images are the validation split, as
for the glimpse models) and ``manifest`` (a label manifest such as the Devanagari numerals; the held-out part is
chosen by a fixed hash of each image's path relative to the manifest, so it does not depend on the file order).
Training digits are augmented on the fly, a whole batch at a time: a random affine map (rotation, scale, shear,
shift) plus a smooth elastic displacement, sampled together in one ``grid_sample``; sometimes a thicker pen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import DataLoader

from textlens.errors import ConfigError
from textlens.models.digits_predict import CANVAS
from textlens.models.registry import create_model
from textlens.train.common import (
    GraphExporter,
    jsonable,
    resolve_accelerator,
    rounded,
    seed_everything,
    step_lr_scheduler,
    throughput_summary,
    wall_seconds,
    weights_source,
    write_export,
    write_summary,
)
from textlens.train.digits_data import (
    AUGMENT_KEYS,
    DigitSplits,
    DigitsTrainConfig,
    as_tensor_dataset,
    augment_batch,
    collate,
    load_splits,
)

# ---------------------------------------------------------------------------------------------- system


class DigitsSystem(pl.LightningModule):
    """A digit classifier, its cross-entropy loss, AdamW with warm-up + cosine decay, and the validation error."""

    def __init__(
        self,
        arch: str,
        model_kwargs: dict[str, Any],
        augment: dict[str, Any],
        lr: float = 3e-3,
        weight_decay: float = 5e-4,
        max_steps: int = 6000,
        warmup: float = 0.03,
        label_smoothing: float = 0.05,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.model = create_model(arch, **model_kwargs)
        self.augment_cfg = DigitsTrainConfig(out=Path("."), **augment)
        self.generator = torch.Generator().manual_seed(seed)
        self._val = torch.zeros(2, dtype=torch.float64)  # right, count

    def forward(self, images: Tensor) -> Tensor:
        return self.model(images)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        images, targets = batch["images"], batch["targets"]
        images = augment_batch(images.float() / 255.0, self.augment_cfg, self.generator)
        logits = self.model(images)
        loss = F.cross_entropy(logits, targets, label_smoothing=self.hparams.label_smoothing)
        size = len(targets)
        self.log("train/loss", loss, prog_bar=True, batch_size=size)
        self.log("train/acc", (logits.argmax(-1) == targets).float().mean(), prog_bar=True, batch_size=size)
        return loss

    def on_validation_epoch_start(self) -> None:
        self._val = torch.zeros(2, dtype=torch.float64)

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        images, targets = batch["images"], batch["targets"]
        right = (self.model(images.float() / 255.0).argmax(-1) == targets).sum()
        self._val += torch.tensor([float(right), float(len(targets))], dtype=torch.float64)

    def on_validation_epoch_end(self) -> None:
        right, count = (float(v) for v in self._val)
        if count:
            self.log("val/error", 1.0 - right / count, prog_bar=True)
            self.log("val/count", count)

    def configure_optimizers(self) -> dict[str, Any]:
        decay = [p for n, p in self.model.named_parameters() if p.ndim > 1]
        no_decay = [p for n, p in self.model.named_parameters() if p.ndim <= 1]
        optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": self.hparams.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=self.hparams.lr,
        )
        return step_lr_scheduler(self, optimizer, "cosine")


@torch.no_grad()
def error_rate(model: torch.nn.Module, images: np.ndarray, labels: np.ndarray, batch: int = 500) -> dict[str, Any]:
    """Count, accuracy and error of ``model`` on uint8 28×28 images, plus the confusions (truth → predicted)."""
    model.eval()
    preds = []
    for start in range(0, len(images), batch):
        chunk = torch.from_numpy(np.ascontiguousarray(images[start : start + batch]))[:, None].float() / 255.0
        preds.append(model(chunk).argmax(-1).numpy())
    predicted = np.concatenate(preds)
    wrong = predicted != labels
    return {
        "count": len(labels),
        "accuracy": round(1.0 - float(wrong.mean()), 5),
        "error": round(float(wrong.mean()), 5),
        "wrong": int(wrong.sum()),
    }


def digits_config(model: Any, name: str, arch: str, splits: DigitSplits, training: dict[str, Any]) -> dict[str, Any]:
    """The export folder's ``config.json``: what the runtime needs (labels, input) and what was measured."""
    return {
        "name": name,
        "family": "digits",
        "arch": arch,
        "model": jsonable(model.config),
        "labels": splits.labels,
        "script": splits.script,
        "input": {
            "size": CANVAS,
            "channels": 1,
            "polarity": "light-on-dark",
            "scale": "0..1",
            "normalise": "ink cropped, longer side 20 px, centre of mass at the centre (28x28 inputs as given)",
        },
        "metrics": {"validation": training.get("final_val", {})},
        "training": training,
    }


def train_digits_model(
    cfg: DigitsTrainConfig, graph: GraphExporter | None = None, log: Callable[[str], Any] = print
) -> dict[str, Any]:
    """Train as ``cfg`` says, pick the best checkpoint by validation error, measure it and export it."""
    from pytorch_lightning.callbacks import LearningRateMonitor

    from textlens.train.callbacks import (
        Throughput,
        checkpoint_callback,
        load_best_weights,
        step_trainer,
        wall_clock_budget,
    )

    started = time.perf_counter()
    cfg.out = Path(cfg.out)
    if cfg.weights not in ("best", "final"):
        raise ConfigError(f"--weights must be best or final, got {cfg.weights!r}")
    accelerator = resolve_accelerator(cfg.device)
    seed_everything(cfg.seed)
    splits = load_splits(cfg)
    log(f"data: {splits.description}")
    model_kwargs = {"num_classes": len(splits.labels), **cfg.model}
    augment = {key: getattr(cfg, key) for key in AUGMENT_KEYS}
    system = DigitsSystem(
        cfg.arch,
        model_kwargs,
        augment,
        lr=cfg.lr,
        weight_decay=cfg.weight_decay,
        max_steps=cfg.steps,
        warmup=cfg.warmup,
        label_smoothing=cfg.label_smoothing,
        seed=cfg.seed,
    )
    loader_generator = torch.Generator().manual_seed(cfg.seed)
    train_loader = DataLoader(
        as_tensor_dataset(splits.train_images, splits.train_labels),
        batch_size=cfg.batch,
        shuffle=True,
        drop_last=True,
        generator=loader_generator,
        collate_fn=collate,
    )
    val_loader = DataLoader(as_tensor_dataset(splits.val_images, splits.val_labels), batch_size=500, collate_fn=collate)
    checkpoint = checkpoint_callback(cfg.out, "val/error", "min")
    throughput = Throughput()
    callbacks: list[Any] = [checkpoint, throughput, LearningRateMonitor(logging_interval="step")]
    if cfg.ema is not None:
        if not 0.0 < cfg.ema < 1.0:
            raise ConfigError(f"--ema is the averaging decay, between 0 and 1 (e.g. 0.999), got {cfg.ema}")
        from pytorch_lightning.callbacks import EMAWeightAveraging

        callbacks.append(EMAWeightAveraging(decay=cfg.ema))
    budget = wall_clock_budget(cfg.max_minutes, cfg.fit_schedule)
    if budget is not None:
        callbacks.append(budget)
    trainer = step_trainer(
        cfg.out, accelerator, "32-true", cfg.steps, min(cfg.val_every, cfg.steps), 5.0, callbacks, cfg.progress
    )
    trainer.fit(system, train_dataloaders=train_loader, val_dataloaders=val_loader)
    # The final state, always: Lightning's last.ckpt is only written when a check saves, so it may be older.
    trainer.save_checkpoint(cfg.out / "last.ckpt")
    source = load_best_weights(system.model, cfg.out) if cfg.weights == "best" else None
    # The bundle stores fp16 weights: measure and export the ONNX graph from exactly those, so the numbers and
    # both files agree.
    model = system.model.cpu().eval().half().float()
    final_val = error_rate(model, splits.val_images, splits.val_labels)
    summary = {
        "arch": cfg.arch,
        "source": cfg.source,
        "data": splits.description,
        "steps": int(trainer.global_step),
        "batch": cfg.batch,
        "lr": cfg.lr,
        **throughput_summary(throughput.samples, throughput.train_seconds),
        "wall_seconds": wall_seconds(started),
        "device": accelerator,
        "torch_threads": torch.get_num_threads(),
        "weights_from": weights_source(source),
        "best_val_error": rounded(checkpoint.best_model_score, 5),
        "final_val": final_val,
        "parameters": sum(int(p.numel()) for p in model.parameters()),
        "config": jsonable({k: v for k, v in asdict(cfg).items() if k != "out"}),
    }
    name = cfg.name or cfg.out.name
    write_export(model, digits_config(model, name, cfg.arch, splits, summary), cfg.out / "export", graph)
    write_summary(cfg.out, summary)
    log(f"exported to {cfg.out / 'export'}")
    return summary
