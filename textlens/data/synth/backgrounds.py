"""Photographs without text for synthetic scenes: the installed wallpapers, checked for text, as random crops.

SynthText renders words onto photographs that hold no text of their own (a picture with unlabelled text would
teach the detector that text is background). textlens takes its pictures from Debian's wallpaper and background
packages (``make scene-deps``: gnome-backgrounds, mate-backgrounds, plasma-workspace-wallpapers,
ukui-wallpapers, lomiri-wallpapers, mypaint-data-extras, sway-backgrounds), found under ``BACKGROUND_DIRS`` or the
folders of ``$TEXTLENS_BACKGROUNDS`` (``os.pathsep``-separated).

Building the index, once per set of files:

1. Raster files (.jpg, .jpeg, .png, .webp) whose short side is at least ``MIN_SIDE``; the sizes of one picture
   (KDE's ``contents/images/1920x1080.jpg``, ``Elephants_3840x2160.jpg``) count once, the largest kept.
2. Each picture is read downscaled to a long side of ``CHECK_SIDE``, and at 1/2 and 1/4 of that, by the bundled
   reader (``textlens.OCR``, see ``OcrReader``); a picture is rejected where it reads a word of two letters or
   digits with a confidence of at least ``TEXT_CONFIDENCE``, or of three or more at ``TEXT_CONFIDENCE_LONG``.
   Over the Debian pictures, real text read at 0.999-1.0 (a slogan, ``SWAY``) down to 0.907 (a small ``®MATE``
   logo), while the false readings of patterns and textures stay under 0.8 but for a few (``4444`` at 0.93 on a
   grid, ``YY`` at 0.99 on another): those pictures are dropped too, which costs little. The words are cached,
   so the thresholds can change without reading the pictures again.
3. A copy downscaled to a long side of ``STORE_SIDE`` (JPEG) is kept in the cache folder, so a crop never decodes a
   5120-px PNG; pictures that are near copies of one another (8×8 colour thumbnails within ``NEAR_COPY`` grey
   levels on average) count once.

The verdicts and copies live in ``$TEXTLENS_CACHE`` (default ``~/.cache/textlens``): ``backgrounds.json``, keyed
by path, modification time, size and the check's name, and ``backgrounds/*.jpg``.
``BackgroundIndex.crop(rng, width, height)`` then gives a random crop of a random usable picture, resized to the
requested size.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from textlens.errors import ConfigError, OutputError
from textlens.io.atomic import atomic_write_bytes, atomic_write_text

log = logging.getLogger(__name__)

BACKGROUND_DIRS = (
    Path("/usr/share/backgrounds"),
    Path("/usr/share/wallpapers"),
    Path("/usr/share/mypaint/backgrounds"),
)
SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
MIN_SIDE = 480
CHECK_SIDE = 1280
STORE_SIDE = 1920
TEXT_CONFIDENCE = 0.95  # a reading of two letters or digits
TEXT_CONFIDENCE_LONG = 0.9  # three or more
CACHE_DIR = Path(os.environ.get("TEXTLENS_CACHE", Path.home() / ".cache" / "textlens"))
CACHE_VERSION = 2  # 2: one entry per picture and check
NEAR_COPY = 6.0
SCENE_PACKAGES = (
    "gnome-backgrounds",
    "mate-backgrounds",
    "plasma-workspace-wallpapers",
    "ukui-wallpapers",
    "lomiri-wallpapers",
    "mypaint-data-extras",
    "sway-backgrounds",
)
_SIZE_IN_NAME = re.compile(r"[_-]?\d{3,5}x\d{3,5}", re.I)

Reader = Callable[[np.ndarray], Sequence[tuple[str, float]]]


@dataclass(frozen=True)
class Picture:
    """One background picture and the text check's verdict on it."""

    path: str
    width: int
    height: int
    store: str  # the downscaled copy in the cache folder
    words: tuple[tuple[str, float], ...]  # what the reader found: (text, confidence)
    has_text: bool
    thumb: tuple[int, ...]  # 8×8 RGB thumbnail, for finding near copies


def default_dirs() -> list[Path]:
    """``$TEXTLENS_BACKGROUNDS`` (``os.pathsep``-separated folders) or ``BACKGROUND_DIRS``."""
    env = os.environ.get("TEXTLENS_BACKGROUNDS")
    return [Path(p) for p in env.split(os.pathsep) if p] if env else list(BACKGROUND_DIRS)


def _picture_key(path: Path) -> tuple[str, str]:
    """Files of one picture at several sizes share a key: same folder, same name less a ``WxH`` part."""
    return str(path.parent), _SIZE_IN_NAME.sub("", path.stem).lower()


def find_pictures(dirs: Iterable[Path], min_side: int = MIN_SIDE) -> list[tuple[Path, int, int]]:
    """(path, width, height) of every raster picture under ``dirs`` at least ``min_side`` on its short side; the
    largest file of each picture (see ``_picture_key``)."""
    best: dict[tuple[str, str], tuple[Path, int, int]] = {}
    files = sorted({p.resolve() for d in dirs if d.is_dir() for p in d.rglob("*") if p.suffix.lower() in SUFFIXES})
    for path in files:
        try:
            with Image.open(path) as im:
                width, height = im.size
        except (OSError, ValueError, Image.DecompressionBombError):
            continue
        if min(width, height) < min_side:
            continue
        key = _picture_key(path)
        if key not in best or width * height > best[key][1] * best[key][2]:
            best[key] = (path, width, height)
    return sorted(best.values())


def load_picture(path: str | Path, long_side: int) -> np.ndarray:
    """A picture as RGB uint8, downscaled to at most ``long_side`` (transparency over mid grey)."""
    with Image.open(path) as im:
        im.draft("RGB", (long_side, long_side))  # JPEG: decode at a reduced scale, much faster
        if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
            rgba = im.convert("RGBA")
            flat = Image.new("RGBA", rgba.size, (128, 128, 128, 255))
            flat.alpha_composite(rgba)
            im = flat
        rgb = im.convert("RGB")
    scale = long_side / max(rgb.size)
    if scale < 1:
        rgb = rgb.resize((max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale))), Image.Resampling.BOX)
    return np.asarray(rgb)


def thumbnail(image: np.ndarray) -> tuple[int, ...]:
    """The picture as 8×8 RGB cells (192 values): the same picture at another size gives nearly the same."""
    return tuple(int(v) for v in cv2.resize(image, (8, 8), interpolation=cv2.INTER_AREA).flatten())


def has_text(words: Iterable[tuple[str, float]]) -> bool:
    """Whether the reader's words show real text: a confident reading of two or more letters or digits."""
    for text, conf in words:
        alnum = sum(ch.isalnum() for ch in text)
        if (alnum == 2 and conf >= TEXT_CONFIDENCE) or (alnum >= 3 and conf >= TEXT_CONFIDENCE_LONG):
            return True
    return False


class OcrReader:
    """The bundled reader (``textlens.OCR``, one thread) as a text check: the (text, confidence) of its words.

    The picture is read at its size and at 1/2 and 1/4 (down to a long side of 240 px): the document detector
    misses letters taller than about 80 px (a wallpaper's slogan, a logo), which the smaller copies bring into
    its range. Only detected regions that could hold two characters are read (the long side of their rotated
    box at least 1.5 × the short side, the short side at least 8 px), the ``max_regions`` largest of them per
    scale: a textured photo yields thousands of specks (2,111 on one mountain wallpaper; reading them all took
    25 s).
    """

    name = "textlens-ocr-3scales"

    def __init__(self, max_regions: int = 150) -> None:
        self.max_regions = max_regions
        self._ocr: object | None = None

    def __call__(self, image: np.ndarray) -> list[tuple[str, float]]:
        if self._ocr is None:
            from textlens.pipeline import OCR

            self._ocr = OCR(threads=1, orientation=False, second_look_below=None)
        words: list[tuple[str, float]] = []
        for scale in (1.0, 0.5, 0.25):
            if scale < 1 and max(image.shape[:2]) * scale < 240:
                break
            small = image if scale == 1 else cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            words += self._read(small)
        return words

    def _read(self, image: np.ndarray) -> list[tuple[str, float]]:
        ocr = self._ocr
        sized = []
        for det in ocr.detector.detect(image):  # type: ignore[attr-defined]
            (_, _), (rw, rh), _ = cv2.minAreaRect(np.asarray(det.polygon, np.float32))
            long, short = max(rw, rh), min(rw, rh)
            if short >= 8 and long >= 1.5 * short:
                sized.append((long * short, det))
        sized.sort(key=lambda item: -item[0])
        regions = [det for _, det in sized[: self.max_regions]]
        words = ocr.read_regions(image, regions) if regions else []  # type: ignore[attr-defined]
        return [(w.text, round(float(w.confidence), 4)) for w in words]


class BackgroundIndex:
    """The usable (text-free) background pictures under ``dirs``, with random crops at any size.

    ``reader`` is the text check (default: the bundled OCR); ``cache_dir`` holds the verdicts and the downscaled
    copies. Building reads each new picture once (about a second each at one thread); later builds read the
    cache. The index pickles without its decoded pictures, for DataLoader workers.
    """

    def __init__(
        self,
        dirs: Sequence[str | Path] | None = None,
        cache_dir: str | Path | None = None,
        reader: Reader | None = None,
        min_side: int = MIN_SIDE,
        store_side: int = STORE_SIDE,
        memory: int = 12,
    ) -> None:
        self.dirs = [Path(d) for d in dirs] if dirs is not None else default_dirs()
        self.cache_dir = Path(cache_dir) if cache_dir is not None else CACHE_DIR
        self.store_side = store_side
        self.memory = memory
        self._images: OrderedDict[str, np.ndarray] = OrderedDict()
        self.pictures = self._build(reader or OcrReader(), min_side)
        self.usable = _unique([p for p in self.pictures if not p.has_text])

    def __len__(self) -> int:
        return len(self.usable)

    def __getstate__(self) -> dict[str, object]:
        return {**self.__dict__, "_images": OrderedDict()}

    def summary(self) -> dict[str, int]:
        """How many pictures were found, rejected for text, and are usable (near copies counted once)."""
        text = sum(p.has_text for p in self.pictures)
        return {"found": len(self.pictures), "with_text": text, "usable": len(self.usable)}

    # --- building --------------------------------------------------------------------------------------------
    def _cache_file(self) -> Path:
        return self.cache_dir / "backgrounds.json"

    def _load_cache(self) -> dict[str, dict[str, object]]:
        try:
            data = json.loads(self._cache_file().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
            return {}
        pictures = data.get("pictures")
        return pictures if isinstance(pictures, dict) else {}

    def _save_cache(self, pictures: dict[str, dict[str, object]]) -> None:
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            payload = {"version": CACHE_VERSION, "pictures": pictures}
            atomic_write_text(self._cache_file(), json.dumps(payload, indent=0))
        except (OSError, OutputError):
            log.warning("cannot write the background cache %s", self._cache_file())

    def _build(self, reader: Reader, min_side: int) -> list[Picture]:
        check = f"{getattr(reader, 'name', type(reader).__name__)}@{CHECK_SIDE}"
        cache = self._load_cache()
        known = dict(cache)
        out: list[Picture] = []
        found = find_pictures(self.dirs, min_side)
        keys = [f"{path}|{path.stat().st_mtime_ns}|{path.stat().st_size}|{check}" for path, _, _ in found]
        new = sum(key not in known or not Path(str(known[key].get("store", ""))).is_file() for key in keys)
        if new:
            log.warning("checking %d background pictures for text (once: cached in %s)", new, self.cache_dir)
        for n, ((path, width, height), key) in enumerate(zip(found, keys, strict=True)):
            facts = known.get(key)
            if facts is None or not Path(str(facts.get("store", ""))).is_file():
                log.info("checking background %d/%d for text: %s", n + 1, len(found), path)
                facts = self._check(path, width, height, reader)
                known[key] = facts
            words = tuple((str(t), float(c)) for t, c in facts["words"])  # type: ignore[union-attr]
            out.append(
                Picture(
                    path=str(path),
                    width=width,
                    height=height,
                    store=str(facts["store"]),
                    words=words,
                    has_text=has_text(words),
                    thumb=tuple(int(v) for v in facts["thumb"]),  # type: ignore[union-attr]
                )
            )
        if known != cache:  # entries of other folders and checks are kept: indexes of several sets share the file
            self._save_cache(known)
        return out

    def _check(self, path: Path, width: int, height: int, reader: Reader) -> dict[str, object]:
        image = load_picture(path, self.store_side)
        digest = hashlib.sha1(f"{path}|{width}x{height}".encode()).hexdigest()[:16]
        store = self.cache_dir / "backgrounds" / f"{digest}.jpg"
        store.parent.mkdir(parents=True, exist_ok=True)
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
        if not ok:
            raise OutputError(f"cannot encode the background copy of {path}")
        atomic_write_bytes(store, buf.tobytes())
        scale = min(1.0, CHECK_SIDE / max(image.shape[:2]))
        small = image if scale >= 1 else cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        words = [(str(t), float(c)) for t, c in reader(small)]
        return {"store": str(store), "words": words, "thumb": list(thumbnail(image))}

    # --- crops -----------------------------------------------------------------------------------------------
    def image(self, picture: Picture) -> np.ndarray:
        """The picture's downscaled copy (RGB uint8), from a small in-memory cache."""
        found = self._images.get(picture.store)
        if found is not None:
            self._images.move_to_end(picture.store)
            return found
        bgr = cv2.imread(picture.store, cv2.IMREAD_COLOR)
        image = load_picture(picture.path, self.store_side) if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        self._images[picture.store] = image
        if len(self._images) > self.memory:
            self._images.popitem(last=False)
        return image

    def crop(self, rng: np.random.Generator, width: int, height: int, max_upscale: float = 2.0) -> np.ndarray:
        """A ``height``×``width`` RGB uint8 crop of a random usable picture: a random window with that aspect,
        30-100 % of the largest that fits (never enlarged more than ``max_upscale``), flipped half the time."""
        if not self.usable:
            raise ConfigError(
                "no background pictures without text under "
                + ", ".join(str(d) for d in self.dirs)
                + ": run `make scene-deps` (Debian's wallpaper packages) or set TEXTLENS_BACKGROUNDS"
            )
        image = self.image(self.usable[int(rng.integers(len(self.usable)))])
        h, w = image.shape[:2]
        aspect = width / height
        full_w = min(w, h * aspect)
        lo = min(1.0, max(0.3, width / (max_upscale * full_w)))
        cw = full_w * float(rng.uniform(lo, 1.0))
        ch = cw / aspect
        x0, y0 = int(rng.uniform(0, w - cw + 1)), int(rng.uniform(0, h - ch + 1))
        window = image[y0 : y0 + max(1, round(ch)), x0 : x0 + max(1, round(cw))]
        flags = cv2.INTER_AREA if window.shape[1] > width else cv2.INTER_LINEAR
        out = cv2.resize(window, (width, height), interpolation=flags)
        return np.ascontiguousarray(out[:, ::-1]) if rng.random() < 0.5 else out


def _unique(pictures: list[Picture]) -> list[Picture]:
    """Near copies (thumbnails within ``NEAR_COPY`` grey levels on average) count once: the largest is kept."""
    kept: list[Picture] = []
    thumbs: list[np.ndarray] = []
    for picture in sorted(pictures, key=lambda p: -p.width * p.height):
        thumb = np.asarray(picture.thumb, np.float32)
        if all(float(np.abs(thumb - other).mean()) > NEAR_COPY for other in thumbs):
            kept.append(picture)
            thumbs.append(thumb)
    return sorted(kept, key=lambda p: p.path)


_DEFAULT: dict[tuple[str, ...], BackgroundIndex] = {}


def default_index() -> BackgroundIndex:
    """The index of the installed pictures (``default_dirs()``), built once per process."""
    key = tuple(str(d) for d in default_dirs())
    if key not in _DEFAULT:
        _DEFAULT[key] = BackgroundIndex()
    return _DEFAULT[key]


def picture_facts(index: BackgroundIndex) -> list[dict[str, object]]:
    """The index as plain records (path, size, verdict, words), for reports."""
    return [asdict(p) for p in index.pictures]
