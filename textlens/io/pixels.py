"""Pixels of any colour mode as RGB uint8: transparency over white, CMYK through its ICC profile, deep gray scaled."""

from __future__ import annotations

import contextlib
import io

import numpy as np
from PIL import Image, ImageCms

from textlens.errors import UnsupportedFormat


def pil_to_rgb(im: Image.Image, source: str) -> np.ndarray:
    """Any Pillow mode as RGB uint8: transparency over white, CMYK through its ICC profile."""
    mode = im.mode
    if mode == "RGB":
        return np.ascontiguousarray(np.asarray(im, dtype=np.uint8))
    if mode.startswith("I;16") or mode in ("I", "F"):
        return gray_to_rgb(scale_to_uint8(np.asarray(im), mode))
    if mode == "CMYK":
        return cmyk_to_rgb(im)
    if has_alpha(im):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.ascontiguousarray(np.asarray(Image.alpha_composite(white, rgba).convert("RGB")))
    try:
        return np.ascontiguousarray(np.asarray(im.convert("RGB"), dtype=np.uint8))
    except ValueError as e:
        raise UnsupportedFormat(f"colour mode {mode} is not supported: {e}", source=source) from None


def has_alpha(im: Image.Image) -> bool:
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        return True
    return im.mode in ("P", "L", "RGB") and "transparency" in im.info


def scale_to_uint8(values: np.ndarray, mode: str) -> np.ndarray:
    """Map high-bit-depth gray to 0..255 by its range (65535 -> 255), never by clipping."""
    values = values.astype(np.float64)
    if mode == "F" and values.size and float(np.nanmax(values)) <= 1.0:
        top = 1.0  # float images conventionally hold 0..1
    elif mode == "I" and values.size and (values.min() < 0 or values.max() > 65535):
        # 32-bit integer data with no fixed range: stretch what is there.
        low, high = float(values.min()), float(values.max())
        values = values - low
        top = max(high - low, 1.0)
    else:
        top = 65535.0
    return np.clip(np.rint(np.nan_to_num(values) * (255.0 / top)), 0, 255).astype(np.uint8)


def gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))


def cmyk_to_rgb(im: Image.Image) -> np.ndarray:
    """CMYK through its embedded ICC profile to sRGB, else by the standard (1-C)(1-K) formula."""
    profile = im.info.get("icc_profile")
    if profile:
        with contextlib.suppress(ImageCms.PyCMSError, OSError, ValueError):
            source_profile = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            srgb = ImageCms.createProfile("sRGB")
            converted = ImageCms.profileToProfile(im, source_profile, srgb, outputMode="RGB")
            if converted is not None:
                return np.ascontiguousarray(np.asarray(converted, dtype=np.uint8))
    cmyk = np.asarray(im, dtype=np.float64) / 255.0
    ink = (1.0 - cmyk[:, :, :3]) * (1.0 - cmyk[:, :, 3:4])
    return np.ascontiguousarray(np.rint(ink * 255.0).astype(np.uint8))


def array_to_uint8(array: np.ndarray, source: str) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.uint16:
        return scale_to_uint8(array, "I;16")
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * 255
    if np.issubdtype(array.dtype, np.floating):
        if array.size and (np.nanmin(array) < 0 or np.nanmax(array) > 1):
            raise UnsupportedFormat("float array values must lie in [0, 1] (or pass uint8 0..255)", source=source)
        return scale_to_uint8(array, "F")
    raise UnsupportedFormat(
        f"array dtype {array.dtype} is not supported (pass uint8, uint16, bool or float in [0, 1])",
        source=source,
    )
