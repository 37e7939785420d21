"""Synthetic scene photos (page kind ``scene_photo``): the background count, a contact sheet, real photos beside
them, and the rendering speed.

Usage: OMP_NUM_THREADS=1 python recipes/scene_photo_sheet.py [--data ../shared/data] [--n 12] [--seed 2024]
       [--time 60]

Needs the wallpaper packages (``make scene-deps``); the first run checks every picture for text (about two
minutes at one thread) and caches the verdicts. Writes:

- ``docs/synth-scene-photos.png``: ``--n`` synthetic pages with their word quads (green; don't-care red), in 256
  colours;
- ``runs/scene_photos_vs_real.png``: ``--n`` real ICDAR 2003 photos with their boxes above as many synthetic
  pages. The real photos are research-only: that sheet stays outside the repository, never commit it;
- ``runs/scene_photo_backgrounds.json``: every picture found, its verdict and the words the check read.

With ``--time N`` it renders N pages in one process after a warm-up and prints pages per second of CPU time.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from textlens.data.manifest import read_manifest
from textlens.data.samples import PageSample
from textlens.data.sheet import contact_sheet, save_image_atomic
from textlens.data.synth.backgrounds import default_index, picture_facts
from textlens.data.synth.pages import PageRenderer
from textlens.io.atomic import atomic_path


def real_photos(manifest: Path, n: int, seed: int) -> list[PageSample]:
    records = read_manifest(manifest)
    picks = np.random.default_rng(seed).permutation(len(records))[:n]
    return [
        PageSample(image=records[int(i)].load_image(), words=records[int(i)].words, source="ic03_scene") for i in picks
    ]


def time_pages(renderer: PageRenderer, count: int, warmup: int = 10) -> None:
    """Pages per CPU-second in this process (one thread), overall and for long sides up to / over 960 px."""
    for i in range(warmup):
        renderer.sample_at(1_000_000 + i)
    costs: list[tuple[int, float, int]] = []  # (long side, CPU seconds, words)
    for i in range(count):
        cpu = time.process_time()
        page = renderer.sample_at(i)
        costs.append((max(page.image.shape[:2]), time.process_time() - cpu, len(page.words)))
    sides = [c[0] for c in costs]
    total = sum(c[1] for c in costs)
    small = [c[1] for c in costs if c[0] <= 960]
    large = [c[1] for c in costs if c[0] > 960]
    words = sum(c[2] for c in costs) / count
    median_ms = 1000 * float(np.median([c[1] for c in costs]))
    print(
        f"{count} pages (long side {min(sides)}-{max(sides)} px, {words:.1f} words each): "
        f"{count / total:.2f} pages per CPU-second; long side <= 960: {len(small) / max(sum(small), 1e-9):.2f}/s, "
        f"> 960: {len(large) / max(sum(large), 1e-9):.2f}/s; median page {median_ms:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--n", type=int, default=12)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--docs", type=Path, default=Path("docs/synth-scene-photos.png"))
    parser.add_argument("--runs", type=Path, default=Path("runs"))
    parser.add_argument("--time", type=int, default=0, help="Pages to render for the speed measurement.")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    start = time.perf_counter()
    index = default_index()
    summary = index.summary()
    print(f"backgrounds: {summary} (index ready in {time.perf_counter() - start:.1f} s)")
    for picture in index.pictures:
        if picture.has_text:
            print(f"  rejected for text: {picture.path}: {[w for w in picture.words if w[1] >= 0.9][:4]}")
    args.runs.mkdir(parents=True, exist_ok=True)
    (args.runs / "scene_photo_backgrounds.json").write_text(json.dumps(picture_facts(index), indent=1))
    renderer = PageRenderer("scene_photo", seed=args.seed, backgrounds=index)
    synthetic = [renderer.sample_at(i) for i in range(args.n)]
    args.docs.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.docs) as tmp:  # 256 colours: a quarter of the bytes, and it still shows the quads
        sheet = Image.fromarray(contact_sheet(synthetic, cols=4, cell_width=300))
        sheet.quantize(256, method=Image.Quantize.MEDIANCUT).save(tmp, format="PNG", optimize=True)
    print(f"wrote {args.docs}")
    manifest = args.data / "ic03_scene" / "manifest.jsonl"
    if manifest.is_file():
        real = real_photos(manifest, args.n, args.seed)
        sheet = contact_sheet(real + synthetic, cols=4, cell_width=300)
        path = save_image_atomic(sheet, args.runs / "scene_photos_vs_real.png")
        print(f"wrote {path}: the first {len(real)} are real ic03_scene photos (research-only: do not commit)")
    else:
        print(f"no {manifest}: skipped the sheet beside real photos")
    if args.time:
        time_pages(renderer, args.time)


if __name__ == "__main__":
    main()
