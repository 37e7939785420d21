"""A contact sheet of synthetic crops beside real ones, to see what the synthetic engine still gets wrong.

Usage: python recipes/synth_vs_real_sheet.py [--data ../shared/data] [--out runs/synth_vs_real.png] [--n 24]

Rows alternate: real ic13 word crops, synthetic `scene` crops, real SROIE line crops (cut at their boxes),
synthetic `receipt` crops. The real data is research-only: the sheet is written outside the repository by
default and must not be committed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from textlens.data.manifest import read_manifest
from textlens.data.samples import CropSample
from textlens.data.sheet import contact_sheet, save_image_atomic
from textlens.data.synth import LineRenderer


def real_crops(manifest: Path, n: int, seed: int) -> list[CropSample]:
    """``n`` crops drawn at random: crop records as they are, page records cut at random word boxes."""
    records = read_manifest(manifest)
    rng = np.random.default_rng(seed)
    out: list[CropSample] = []
    for index in rng.permutation(len(records)):
        record = records[int(index)]
        if record.kind == "crop":
            out.append(CropSample(record.load_image(), record.text or "", f"real:{manifest.parent.name}"))
        else:
            page = record.load_image()
            words = [w for w in record.words if not w.is_dont_care and w.text.strip()]
            for w in rng.permutation(len(words))[:2]:
                x0, y0, x1, y1 = (round(v) for v in words[int(w)].box)
                out.append(CropSample(page[y0:y1, x0:x1], words[int(w)].text, f"real:{manifest.parent.name}"))
        if len(out) >= n:
            return out[:n]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("runs/synth_vs_real.png"))
    parser.add_argument("--n", type=int, default=12, help="Crops per row group.")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    groups: list[CropSample] = []
    groups += real_crops(args.data / "ic13" / "manifest_1015.jsonl", args.n, args.seed)
    scene = LineRenderer(preset="scene", seed=args.seed)
    groups += [scene.sample_at(i) for i in range(args.n)]
    groups += real_crops(args.data / "sroie_dev" / "manifest.jsonl", args.n, args.seed)
    receipt = LineRenderer(preset="receipt", seed=args.seed)
    groups += [receipt.sample_at(i) for i in range(args.n)]
    path = save_image_atomic(contact_sheet(groups, cols=args.n // 2, cell_width=200), args.out)
    print(f"wrote {path}: rows 1-2 real ic13, 3-4 synthetic scene, 5-6 real SROIE lines, 7-8 synthetic receipt")


if __name__ == "__main__":
    main()
