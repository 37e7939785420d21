"""Measure a digit-classifier bundle or export folder for its card: torch/ONNX agreement, the validation error
through the runtime (onnxruntime, the path `textlens eval digits` takes), digits drawn with OpenCV's Hershey
fonts (no handwriting: a check of the input normalisation on another source), and the speed on one thread.

Usage: python recipes/digits_measure.py FOLDER (mnist DIR | manifest FILE PERCENT) [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from textlens.models.digits_predict import load_digit_classifier, prepare_batch
from textlens.models.registry import create_model
from textlens.models.serialization import load_weights
from textlens.train.digits_data import load_label_manifest, load_mnist

FONTS = {
    "script": cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
    "script_complex": cv2.FONT_HERSHEY_SCRIPT_COMPLEX,
    "simplex": cv2.FONT_HERSHEY_SIMPLEX,
    "duplex": cv2.FONT_HERSHEY_DUPLEX,
}


def font_digits() -> tuple[list[np.ndarray], list[str]]:
    """Dark digits on light paper, 4 fonts × 3 pen widths × 3 slants, larger than MNIST and off-centre."""
    images, truth = [], []
    for digit in range(10):
        for font in FONTS.values():
            for thickness in (2, 3, 4):
                for slant in (-0.15, 0.0, 0.2):
                    page = np.full((80, 80), 245, np.uint8)
                    cv2.putText(page, str(digit), (22, 62), font, 1.6, 25, thickness, cv2.LINE_AA)
                    shear = np.float32([[1, -slant, slant * 62], [0, 1, 0]])
                    images.append(cv2.warpAffine(page, shear, (80, 80), borderValue=245))
                    truth.append(str(digit))
    return images, truth


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("source", choices=("mnist", "manifest"))
    parser.add_argument("data")
    parser.add_argument("percent", nargs="?", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)
    splits = load_mnist(args.data, 5000) if args.source == "mnist" else load_label_manifest(args.data, args.percent)
    classifier = load_digit_classifier(args.folder, threads=1)
    config = classifier.bundle.config
    model = create_model(config["arch"], **config["model"]).eval()
    load_weights(model, args.folder / "model.safetensors")
    val = [im for im in splits.val_images]
    batch = prepare_batch(val[:500])
    with torch.no_grad():
        expected = model(torch.from_numpy(batch)).numpy()
    got = classifier.session.run(["logits"], {"images": batch})[0]
    started = time.perf_counter()
    predicted = classifier(val)
    seconds = time.perf_counter() - started
    truth = [splits.labels[i] for i in splits.val_labels]
    wrong = [(i, t, p) for i, (t, p) in enumerate(zip(truth, predicted, strict=True)) if t != p]
    fonts, font_truth = font_digits()
    font_pred = classifier(fonts)
    font_right = sum(p == t for p, t in zip(font_pred, font_truth, strict=True))
    result = {
        "folder": str(args.folder),
        "onnx_vs_fp16_torch_max_abs_logit": float(np.abs(got - expected).max()),
        "validation_runtime": {
            "count": len(truth),
            "wrong": len(wrong),
            "error": round(len(wrong) / len(truth), 5),
            "confusions": [f"{t}->{p}" for _, t, p in wrong],
        },
        "font_digits": {"count": len(fonts), "right": font_right, "accuracy": round(font_right / len(fonts), 4)},
        "ms_per_digit_1_thread": round(1000 * seconds / len(val), 3),
        "bytes": {p.name: p.stat().st_size for p in args.folder.iterdir() if p.is_file()},
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
