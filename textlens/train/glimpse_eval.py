"""Scoring a glimpse model on a digit task's validation samples (``textlens glimpse eval`` and the end of a run)."""

from __future__ import annotations

from typing import Any

import torch

from textlens.data.digits import DigitTask, SvhnTask
from textlens.eval.classification import score_labels, sequence_error_by_length
from textlens.eval.text import edit_distance
from textlens.models.glimpse.predict import predict_texts
from textlens.train.glimpse_data import image_tensor


@torch.no_grad()
def evaluate_task(
    model: Any,
    task: DigitTask | SvhnTask,
    count: int,
    batch_size: int = 256,
    samples: int = 1,
    device: str = "cpu",
    seed: int = 0,
) -> dict[str, Any]:
    """Accuracy and error of ``model`` on the first ``count`` samples of a (validation) task.

    Sampled paths (``samples`` > 1) draw from a torch generator seeded with ``seed``, so a score repeats.
    """
    model = model.to(device)
    count = min(count, len(task))
    pairs: list[tuple[str, str]] = []
    with torch.random.fork_rng(devices=[torch.cuda.current_device()] if device == "cuda" else []):
        torch.manual_seed(seed)
        for first in range(0, count, batch_size):
            images, texts = task.batch(range(first, min(first + batch_size, count)))
            tensor = image_tensor(images).to(device)
            pairs.extend(zip(texts, predict_texts(model, tensor, samples), strict=True))
    scores = score_labels(pairs)
    result: dict[str, Any] = {
        "count": scores.count,
        "accuracy": round(scores.accuracy, 5),
        "error": round(scores.error, 5),
        "samples": samples,
    }
    if task.spec.sequence:  # digit strings: also the character error rate (edits / truth digits)
        truth_chars = sum(len(truth) for truth, _ in pairs)
        result["cer"] = round(sum(edit_distance(truth, guess) for truth, guess in pairs) / max(truth_chars, 1), 5)
        result["wrong_length"] = round(sum(len(truth) != len(guess) for truth, guess in pairs) / max(len(pairs), 1), 5)
        result["error_by_length"] = sequence_error_by_length(pairs)
    return result
