"""Rebuild crnn_fast's fp32 ``model.safetensors`` from its ``model.onnx``, so torch and ONNX hold the same weights.

The bundle's ONNX graph was exported from an fp32 weight average whose safetensors copy was stored in fp16
(logits up to 0.2 apart). The graph is the one the runtime reads, so the torch file is rebuilt from it:
LSTM and classifier tensors are copied (ONNX gate order i, o, f, c → torch i, f, g, o); the convolutions were
exported with their BatchNorm folded in, so the BatchNorm statistics and scales keep the values in
``--stats`` (the fp16 file, or this script's own output: the result is the same) and the convolution weights
and BatchNorm shifts are solved so that conv → BN computes the folded convolution.

    W=textlens/models/weights/crnn_fast
    python recipes/crnn_fast_fp32_weights.py $W --stats $W/model.safetensors -o $W/model.safetensors
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from safetensors.numpy import load_file
from safetensors.torch import save

from textlens.io.atomic import atomic_write_bytes

BN_EPS = 1e-5  # torch.nn.BatchNorm2d's default, used by every CRNN backbone
CONV_PREFIXES = [f"backbone.stages.{i}" for i in range(6)] + ["backbone.collapse"]  # in graph order


def torch_gates(array: np.ndarray) -> np.ndarray:
    """ONNX LSTM gate blocks (i, o, f, c) along axis 0 in torch's order (i, f, g, o)."""
    i, o, f, c = np.split(array, 4, axis=0)
    return np.concatenate([i, f, c, o], axis=0)


def rebuild(folder: Path, stats_path: Path) -> dict[str, np.ndarray]:
    graph = onnx.load(str(folder / "model.onnx")).graph
    inits = {t.name: numpy_helper.to_array(t).astype(np.float32) for t in graph.initializer}
    stats = load_file(str(stats_path))
    state: dict[str, np.ndarray] = {}
    convs = [n for n in graph.node if n.op_type == "Conv"]
    assert len(convs) == len(CONV_PREFIXES), "not crnn_fast's graph"
    for node, prefix in zip(convs, CONV_PREFIXES, strict=True):
        folded_w, folded_b = inits[node.input[1]], inits[node.input[2]]
        gamma, mean, var = (
            stats[f"{prefix}.1.{k}"].astype(np.float32) for k in ("weight", "running_mean", "running_var")
        )
        scale = gamma / np.sqrt(var + np.float32(BN_EPS))
        state[f"{prefix}.0.weight"] = folded_w / scale[:, None, None, None]
        state[f"{prefix}.1.weight"], state[f"{prefix}.1.running_mean"], state[f"{prefix}.1.running_var"] = (
            gamma,
            mean,
            var,
        )
        state[f"{prefix}.1.bias"] = folded_b + mean * scale
        state[f"{prefix}.1.num_batches_tracked"] = stats[f"{prefix}.1.num_batches_tracked"]
    lstms = [n for n in graph.node if n.op_type == "LSTM"]
    for layer, node in enumerate(lstms):
        w, r, b = (inits[node.input[k]] for k in (1, 2, 3))
        gates = r.shape[1]  # 4 × hidden
        for direction, suffix in enumerate(("", "_reverse")):
            state[f"sequence.lstm.weight_ih_l{layer}{suffix}"] = torch_gates(w[direction])
            state[f"sequence.lstm.weight_hh_l{layer}{suffix}"] = torch_gates(r[direction])
            state[f"sequence.lstm.bias_ih_l{layer}{suffix}"] = torch_gates(b[direction][:gates])
            state[f"sequence.lstm.bias_hh_l{layer}{suffix}"] = torch_gates(b[direction][gates:])
    matmul = [n for n in graph.node if n.op_type == "MatMul"][-1]
    state["classifier.weight"] = inits[matmul.input[1]].T
    state["classifier.bias"] = inits["inner.classifier.bias"]
    missing = set(stats) ^ set(state)
    assert not missing, f"tensors not rebuilt: {sorted(missing)}"
    return state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="The crnn_fast bundle (its model.onnx is read).")
    parser.add_argument("--stats", type=Path, required=True, help="safetensors holding the BatchNorm statistics.")
    parser.add_argument("-o", "--output", type=Path, required=True, help="The fp32 safetensors to write.")
    args = parser.parse_args()
    state = rebuild(args.folder, args.stats)
    tensors = {k: torch.from_numpy(np.array(v, order="C")) for k, v in sorted(state.items())}
    atomic_write_bytes(args.output, save(tensors))
    print(f"wrote {args.output} ({len(tensors)} tensors)")


if __name__ == "__main__":
    main()
