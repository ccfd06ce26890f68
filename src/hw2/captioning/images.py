"""One image loader: any file a caption set may hold, as the 8-bit RGB picture the encoder and the
figures expect.

Remote-sensing images come in many modes. 8-bit RGB and grey, CMYK, palette (with or without
transparency) and 1-bit images are converted the usual way; transparent pixels are shown over
black. Images of more than 8 bits per sample (16-bit grey or RGB TIFFs, 32-bit integer or float
grey) are scaled by their true range: the image's darkest value becomes 0 and its brightest 255
(sensors often fill 10 to 12 of the 16 bits, so dividing by 257 would leave them nearly black, and
clipping at 255 would leave them white). Pillow reads 16-bit RGB TIFFs as their high bytes only,
so those are read with tifffile.

An image larger than ``max_megapixels`` is refused from its header, before it is decoded, with one
line naming it; Pillow's own decompression-bomb check stays in place beneath that cap.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import cast

import numpy as np
from PIL import Image, TiffImagePlugin

from ..common.errors import InputError

DEEP_GREY = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")  # Pillow's modes of more than 8 bits a sample
WITH_ALPHA = ("RGBA", "LA", "PA", "RGBa", "La")


def load_rgb(path: Path, max_megapixels: float | None = None, shown_as: str | None = None) -> Image.Image:
    """``path`` decoded to an 8-bit RGB image; InputError (one line, the file first: ``shown_as``,
    else the path) when it is not a readable image or has more than ``max_megapixels`` million pixels."""
    image = _opened(path, max_megapixels, shown_as, decode=True)
    assert image is not None  # decoded
    return image


def check_image(path: Path, max_megapixels: float | None = None, shown_as: str | None = None) -> None:
    """What :func:`load_rgb` refuses from the file's header alone (not an image, too many pixels),
    without decoding it: a check before long work."""
    _opened(path, max_megapixels, shown_as, decode=False)


def _opened(path: Path, max_megapixels: float | None, shown_as: str | None, decode: bool) -> Image.Image | None:
    path = Path(path)
    shown = shown_as or str(path)
    with _decoding(path, shown):
        with warnings.catch_warnings():
            # the cap decides; over twice Pillow's own limit Image.open raises, said in one line
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
    with im:
        width, height = im.size
        if max_megapixels is not None and width * height > max_megapixels * 1e6:
            raise InputError(
                f"{shown}: {width}x{height} pixels ({width * height / 1e6:,.1f} megapixels), more "
                f"than the {max_megapixels:g} megapixels allowed per image"
            )
        if not decode:
            return None
        if _deep_rgb_tiff(im):
            return Image.fromarray(_stretch(_read_tiff(path, shown)), "RGB")
        with _decoding(path, shown):
            im.load()
        return to_rgb(im)


@contextmanager
def _decoding(path: Path, shown: str):
    """Pillow's errors while it opens or decodes a file, as one line naming it."""
    try:
        yield
    except Image.DecompressionBombError as exc:
        raise InputError(f"{shown}: too large to decode safely ({str(exc).split(' could be')[0]})") from None
    except Exception as exc:  # Pillow raises many types for a broken file
        reason = str(exc).replace(str(path), path.name).splitlines()[0] if str(exc) else ""
        raise InputError(
            f"{shown}: not a decodable image ({type(exc).__name__}{': ' + reason if reason else ''})"
        ) from None


def to_rgb(im: Image.Image) -> Image.Image:
    """A decoded Pillow image of any mode as 8-bit RGB (see the module's docstring)."""
    if im.mode in DEEP_GREY:
        return Image.fromarray(_stretch(np.asarray(im)), "L").convert("RGB")
    if im.mode == "P" and "transparency" in im.info or im.mode == "PA":
        im = im.convert("RGBA")
    if im.mode in WITH_ALPHA:
        rgba = np.asarray(im.convert("RGBA"), np.float32)
        over_black = rgba[..., :3] * (rgba[..., 3:] / 255)
        return Image.fromarray(np.rint(over_black).astype(np.uint8), "RGB")
    return im.convert("RGB")  # 1-bit, grey, palette, CMYK, YCbCr, …


def _deep_rgb_tiff(im: Image.Image) -> bool:
    """A TIFF of more than 8 bits per colour sample, which Pillow would cut to its high bytes."""
    if im.format != "TIFF" or im.mode in DEEP_GREY:
        return False
    bits = cast(TiffImagePlugin.TiffImageFile, im).tag_v2.get(258, (8,))
    return max(bits if isinstance(bits, tuple) else (bits,)) > 8


def _read_tiff(path: Path, shown: str) -> np.ndarray:
    import tifffile

    try:
        a = tifffile.imread(path)
    except Exception as exc:  # e.g. a compression that needs the optional imagecodecs package
        raise InputError(
            f"{shown}: a TIFF of more than 8 bits per sample that cannot be read at full depth "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
        ) from None
    if a.ndim == 3 and a.shape[-1] >= 3:
        return a[..., :3]  # RGB (any extra sample, e.g. alpha or near-infrared, is not shown)
    raise InputError(f"{shown}: a TIFF of shape {a.shape}; expected one RGB image")


def _stretch(a: np.ndarray) -> np.ndarray:
    """Samples of any depth scaled so that the image's range becomes 0..255 (uint8)."""
    a = np.asarray(a, np.float64)
    finite = a[np.isfinite(a)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if hi <= lo:
        return np.zeros(a.shape, np.uint8)
    scaled = (np.nan_to_num(a, nan=lo, posinf=hi, neginf=lo) - lo) * (255 / (hi - lo))
    return np.rint(np.clip(scaled, 0, 255)).astype(np.uint8)
