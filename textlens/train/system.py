"""RecognitionSystem: the Lightning module training any registered recogniser (CTC, attention, parallel)."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor, nn

from textlens.data.charset import AttentionTokenizer, Charset, CTCTokenizer, DecoderKind, tokenizer_for
from textlens.errors import ConfigError
from textlens.eval.text import edit_distance, normalize
from textlens.models.recognition.decoding import decode_output
from textlens.models.registry import create_model
from textlens.train.common import adamw, step_lr_scheduler


class RecognitionSystem(pl.LightningModule):
    """Owns a recogniser, its loss, optimiser, schedule and validation metrics (CER, word accuracy).

    ``charset`` is the Charset's character string (space first); ``model_kwargs`` are the builder's
    keyword arguments and must agree with it (``num_classes``).
    """

    def __init__(
        self,
        arch: str,
        model_kwargs: dict[str, Any],
        charset: str,
        lr: float = 1e-3,
        weight_decay: float = 0.01,
        max_steps: int = 10_000,
        warmup: float = 0.05,
        schedule: str = "cosine",
        label_smoothing: float = 0.1,
        channels_last: bool = True,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.model = create_model(arch, **model_kwargs)
        self.charset = Charset(charset)
        self.decoder = DecoderKind.parse(self.model.decoder)
        self.tokenizer = tokenizer_for(self.charset, self.decoder)
        classes = getattr(self.model, "num_classes", self.tokenizer.num_classes)
        if classes != self.tokenizer.num_classes:
            raise ConfigError(
                f"{arch} was built with {classes} classes, but a {self.decoder} model over this charset has "
                f"{self.tokenizer.num_classes} (num_classes comes from the tokenizer: tokenizer_for)"
            )
        # CTC classes of the letters that have both cases in the charset, for ``case=any`` data.
        index = self.tokenizer.index
        pairs = [(index[c], index[c.lower()]) for c in self.charset.chars if c.isupper() and c.lower() in index]
        self._case_upper, self._case_lower = [u for u, _ in pairs], [lo for _, lo in pairs]
        self.ctc_loss = nn.CTCLoss(blank=CTCTokenizer.blank, zero_infinity=True)
        self.ce_loss = nn.CrossEntropyLoss(ignore_index=AttentionTokenizer.pad, label_smoothing=label_smoothing)
        self._val_totals = torch.zeros(4, dtype=torch.float64)  # edits, truth chars, exact matches, count

    # ---------------------------------------------------------------- steps
    def _images(self, batch: dict[str, Any]) -> Tensor:
        images = batch["images"]
        return images.contiguous(memory_format=torch.channels_last) if self.hparams.channels_last else images

    def on_fit_start(self) -> None:
        if self.hparams.channels_last:
            self.model.to(memory_format=torch.channels_last)

    def compute_loss(self, batch: dict[str, Any]) -> Tensor:
        images = self._images(batch)
        if self.decoder is DecoderKind.CTC:
            logits = self.model(images)["logits"]
            # CTC in fp32 whatever the autocast precision: bf16 log-probs make the loss unstable.
            log_probs = torch.log_softmax(logits.float(), -1).transpose(0, 1)
            if "case_unknown" in batch:
                log_probs = self._case_folded(log_probs, batch["case_unknown"])
            lengths = torch.clamp(batch["widths"] // self.model.time_stride, max=log_probs.shape[0])
            return self.ctc_loss(log_probs, batch["targets"], lengths, batch["target_lengths"])
        targets = batch["targets"]
        if self.decoder is DecoderKind.ATTENTION:
            logits = self.model(images, targets[:, :-1])["logits"]
        else:
            logits = self.model(images)["logits"]
        labels = targets[:, 1:]
        return self.ce_loss(logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1))

    def _case_folded(self, log_probs: Tensor, case_unknown: Tensor) -> Tensor:
        """CTC log-probabilities (T×B×K) in which, for the samples of ``case_unknown``, each letter's upper-
        and lower-case classes both hold the log of their summed probability: whichever case the
        transcription writes, the loss asks for the letter, not its case."""
        upper, lower = self._case_upper, self._case_lower
        if not upper:
            return log_probs
        folded = log_probs.clone()
        either = torch.logaddexp(log_probs[:, :, upper], log_probs[:, :, lower])
        folded[:, :, upper] = either
        folded[:, :, lower] = either
        return torch.where(case_unknown.to(log_probs.device)[None, :, None], folded, log_probs)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        loss = self.compute_loss(batch)
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["texts"]))
        return loss

    def predict_texts(self, batch: dict[str, Any]) -> list[str]:
        output = self.model(self._images(batch))
        lengths = batch["widths"] // self.model.time_stride if self.decoder is DecoderKind.CTC else None
        return decode_output(output, self.tokenizer, lengths)

    def on_validation_epoch_start(self) -> None:
        self._val_totals = torch.zeros(4, dtype=torch.float64)

    def validation_step(self, batch: dict[str, Any] | None, batch_idx: int) -> None:
        if batch is None:
            return
        for truth, pred in zip(batch["texts"], self.predict_texts(batch), strict=True):
            gt, hyp = normalize(truth), normalize(pred)
            self._val_totals += torch.tensor([edit_distance(gt, hyp), len(gt), gt == hyp, 1], dtype=torch.float64)

    def on_validation_epoch_end(self) -> None:
        totals = self.trainer.strategy.reduce(self._val_totals.to(self.device), reduce_op="sum")
        edits, chars, exact, count = (float(v) for v in totals)
        if count == 0:
            return
        # Already summed over ranks, so every rank logs the same value; sync_dist only averages equal numbers.
        self.log("val/cer", edits / max(chars, 1.0), prog_bar=True, sync_dist=True)
        self.log("val/word_acc", exact / count, prog_bar=True, sync_dist=True)
        self.log("val/count", count, sync_dist=True)

    # ---------------------------------------------------------------- optimisation
    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = adamw(self.model, self.hparams.lr, self.hparams.weight_decay)
        return step_lr_scheduler(self, optimizer, self.hparams.schedule)
