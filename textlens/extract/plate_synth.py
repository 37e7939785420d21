"""Sets of synthetic plate scenes for evaluation: images and a JSONL manifest of their plates.

Evaluation sets draw every plate face; recogniser training crops (``write_plate_crops``) leave out the held-out
faces (``textlens.data.synth.plate.HELDOUT_FACES``). Each record is ``{"image": "00000.jpg", "plates": [{plate,
display, format, region, box, quad, text_quad}], "conditions": …}`` (``textlens.data.synth.plate``); formats are
drawn evenly from the table (``plate_formats.FORMATS``), so every region is represented. A seed fixes the set:
``write_plate_set(folder, count, seed)`` writes the same images and labels on any machine with the same fonts
and wallpapers.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from textlens.data.synth.plate import PlateScene, render_plate_scene
from textlens.extract.plate_formats import FORMATS, PlateFormat, random_plate
from textlens.io.atomic import atomic_write_bytes, atomic_write_text


def plate_scene(
    rng: np.random.Generator,
    formats: tuple[PlateFormat, ...] = FORMATS,
    photos: bool = True,
    faces: tuple[Path, ...] | None = None,
) -> PlateScene:
    """One scene with a random plate of a random format (in one of ``faces``, default all plate faces)."""
    fmt = formats[int(rng.integers(len(formats)))]
    plate = random_plate(rng, fmt)
    return render_plate_scene(rng, fmt.display(plate), fmt.region, fmt.key, photos=photos, faces=faces)


def write_plate_set(folder: Path, count: int, seed: int, photos: bool = True) -> Path:
    """``count`` scenes as JPEG files and ``manifest.jsonl`` in ``folder``; returns the manifest's path."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    lines = []
    for index in range(count):
        scene = plate_scene(rng, photos=photos)
        name = f"{index:05d}.jpg"
        ok, data = cv2.imencode(".jpg", cv2.cvtColor(scene.image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
        if not ok:
            raise ValueError(f"could not encode {name}")
        atomic_write_bytes(folder / name, data.tobytes())
        record = {"image": name, "plates": [p.to_dict() for p in scene.plates], "conditions": scene.conditions}
        lines.append(json.dumps(record))
    manifest = folder / "manifest.jsonl"
    atomic_write_text(manifest, "\n".join(lines) + "\n")
    return manifest


def plate_crop(rng: np.random.Generator, scene: PlateScene) -> np.ndarray:
    """The recogniser's view of a scene's plate, as the reader makes it (``framed_crops`` of the text line),
    from the true line of characters with its ends and edges moved as a detector's would be."""
    from textlens.extract.plate import framed_crops, padded_quad
    from textlens.runtime.crops import crop_quad

    quad = scene.plates[0].text_quad
    jittered = padded_quad(quad, float(rng.uniform(0.0, 0.5)), float(rng.uniform(-0.05, 0.15)))
    jittered = jittered + rng.normal(0, 0.04 * float(np.linalg.norm(quad[3] - quad[0])), (4, 2)).astype(np.float32)
    crop = crop_quad(scene.image, padded_quad(jittered, 0.12, 0.06))[0]
    return framed_crops(crop)[0]


def write_plate_crops(folder: Path, count: int, seed: int, photos: bool = True, per_scene: int = 2) -> Path:
    """``count`` recogniser crops of synthetic plates (PNG) and their ``manifest.jsonl`` (``{image, text}``, the
    plate as printed) in ``folder``, for fine-tuning a recogniser; returns the manifest's path. Only the training
    faces are drawn (``plate_faces("train")``): the held-out faces stay unseen. Each scene gives ``per_scene``
    crops, cut as differently as a detector's regions would be."""
    from textlens.data.synth.plate import plate_faces

    (folder / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    faces = plate_faces("train")
    manifest = folder / "manifest.jsonl"
    lines: list[str] = []
    for index in range(count):
        if index % per_scene == 0:
            scene = plate_scene(rng, photos=photos, faces=faces)
        crop = plate_crop(rng, scene)
        name = f"images/{index:06d}.png"
        ok, data = cv2.imencode(".png", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
        if not ok:
            raise ValueError(f"could not encode {name}")
        atomic_write_bytes(folder / name, data.tobytes())
        lines.append(json.dumps({"image": name, "text": scene.plates[0].display}))
        if len(lines) % 500 == 0:  # a usable manifest while a long run goes on
            atomic_write_text(manifest, "\n".join(lines) + "\n")
    atomic_write_text(manifest, "\n".join(lines) + "\n")
    return manifest
