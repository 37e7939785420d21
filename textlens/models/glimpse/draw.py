"""Pictures of where a glimpse model looked: the numbered path and each glimpse's patch scales over its canvas,
as a PNG or an animated GIF of one frame per glimpse (``textlens glimpse show``, docs/glimpse.md)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from textlens.errors import OutputError

if TYPE_CHECKING:
    from textlens.models.glimpse.predict import Trajectory

# One colour per glimpse (RGB), cycling; chosen to read on black and white.
PALETTE = [
    (255, 64, 64),
    (255, 160, 0),
    (240, 230, 40),
    (80, 220, 80),
    (40, 200, 255),
    (90, 120, 255),
    (200, 90, 255),
    (255, 100, 200),
]
HEADER = 28  # pixels of the caption band


def _upscale(canvas: np.ndarray) -> tuple[np.ndarray, int]:
    factor = max(1, int(np.ceil(280 / min(canvas.shape))))
    big = cv2.resize(canvas, None, fx=factor, fy=factor, interpolation=cv2.INTER_NEAREST)
    return cv2.cvtColor(big, cv2.COLOR_GRAY2RGB), factor


def draw_path(traj: Trajectory, upto: int | None = None) -> np.ndarray:
    """An RGB picture: the model's canvas, each glimpse's nested patch squares, the numbered path; with ``upto``,
    the glimpses up to that one (a GIF frame)."""
    image, k = _upscale(traj.canvas)
    count = len(traj.locations) if upto is None else upto + 1
    centres = [(round(b[0][0] + b[0][2]) * k // 2, round(b[0][1] + b[0][3]) * k // 2) for b in traj.boxes[:count]]
    for index in range(count):
        colour = PALETTE[index % len(PALETTE)]
        current = upto is not None and index == upto
        for scale, (x0, y0, x1, y1) in enumerate(traj.boxes[index]):
            thick = 2 if current or upto is None else 1
            cv2.rectangle(
                image,
                (int(x0 * k), int(y0 * k)),
                (int(x1 * k), int(y1 * k)),
                colour,
                max(1, thick - (scale > 0 and not current)),
                cv2.LINE_AA,
            )
    for a, b in itertools.pairwise(centres):
        cv2.line(image, a, b, (255, 255, 255), 1, cv2.LINE_AA)
    for index, (x, y) in enumerate(centres):
        colour = PALETTE[index % len(PALETTE)]
        cv2.circle(image, (x, y), 9, colour, -1, cv2.LINE_AA)
        cv2.putText(
            image,
            str(index + 1),
            (x - 5 if index < 9 else x - 9, y + 5),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.45,
            (0, 0, 0),
            1,
            cv2.LINE_AA,
        )
    # A header band above the image carries the step and the answer, so they never hide the digits.
    image = cv2.copyMakeBorder(image, HEADER, 0, 0, 0, cv2.BORDER_CONSTANT, value=(32, 32, 32))
    done = upto is None or upto == len(traj.locations) - 1
    text = f"{count} glimpses -> {traj.label}" if done else f"glimpse {count}"
    cv2.putText(image, text, (6, HEADER - 9), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1, cv2.LINE_AA)
    return image


def write_picture(traj: Trajectory, output: Path, gif: bool = False) -> Path:
    """Write the path picture (PNG, or an animated GIF of one frame per glimpse and a summary frame) atomically."""
    from PIL import Image

    from textlens.io.atomic import atomic_path

    try:
        with atomic_path(output) as tmp:
            if gif:
                frames = [Image.fromarray(draw_path(traj, t)) for t in range(len(traj.locations))]
                frames.append(Image.fromarray(draw_path(traj)))
                frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:], duration=700, loop=0)
            else:
                Image.fromarray(draw_path(traj)).save(tmp, format="PNG")
    except OSError as exc:
        raise OutputError(f"cannot write the picture ({exc})", output) from exc
    return output
