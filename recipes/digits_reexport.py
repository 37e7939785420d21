"""Re-export a digit bundle's ONNX graph from its fp16 safetensors (the weights as stored), so torch and ONNX agree.

Usage: python recipes/digits_reexport.py FOLDER
"""

from __future__ import annotations

import sys
from pathlib import Path

from textlens.models.bundle import read_bundle
from textlens.models.digits import export_digits_onnx
from textlens.models.registry import create_model
from textlens.models.serialization import load_weights


def main() -> None:
    folder = Path(sys.argv[1])
    config = read_bundle(folder).config
    model = create_model(config["arch"], **config["model"]).eval()
    load_weights(model, folder / "model.safetensors")
    export_digits_onnx(model.float(), folder / "model.onnx")
    print(f"re-exported {folder / 'model.onnx'}")


if __name__ == "__main__":
    main()
