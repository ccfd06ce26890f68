"""One image loader: any file a caption set may hold, as the 8-bit RGB picture the encoder and the
figures expect.

Remote-sensing images come in many modes. 8-bit RGB and grey, CMYK, palette (with or without
transparency) and 1-bit images are converted the usual way; transparent pixels are shown over
black; a photograph's EXIF orientation is applied (a phone's portrait shot stands upright).

TIFFs that Pillow would misread go through tifffile: samples of more than 8 bits (Pillow keeps the
high bytes only), band-sequential (planar) files, more than four bands, and stacks of one band per
page (a Sentinel-2 stack as tifffile writes it). Their bands are counted across samples and pages
alike, in file order. Which bands are red, green and blue is the user's to say
(:class:`Rendering`'s ``bands``, 0-based; one band: grey); without a choice an image of 3 or 4
bands in one page shows its first three (RGB, or NAIP-style RGB + near-infrared) and one band is
grey, and any other image is refused with :class:`BandChoiceError` naming its band and page count.

Samples of more than 8 bits (16-bit, 32-bit integer, float) are stretched: the ``stretch``
percentiles of the shown bands' finite values, taken together so that colours keep their balance,
become 0 and 255 (2 and 98, the cut GIS viewers apply by default: one hot pixel or a cloud no
longer darkens the whole image, as the min-max scaling did). NaN becomes the darkest value, and so
does a GeoTIFF's nodata value (GDAL's ``GDAL_NODATA`` tag, compared in the bands' own type):
left out of the percentiles, the -9999 or 0 that fills a scene's edges no longer compresses
its real values into a few grey levels. 8-bit samples are not stretched, so their nodata pixels show
as they are; a nodata tag that is not a number is refused from the header.

An image larger than ``max_megapixels`` is refused from its header, before it is decoded, with one
line naming it; Pillow's own decompression-bomb check stays in place beneath that cap.
"""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ..common.errors import BandChoiceError, InputError

DEEP_GREY = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")  # Pillow's modes of more than 8 bits a sample
WITH_ALPHA = ("RGBA", "LA", "PA", "RGBa", "La")
TIFF_MAGIC = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")  # classic and BigTIFF, both byte orders


class _NodataReadHere(logging.Filter):
    """tifffile parses the GDAL_NODATA tag too, and logs a warning where the value does not fit
    the bands (70000 in a 16-bit band) or is not a number; this module reads the tag itself
    (:func:`_nodata`) and says what matters in its own one-line error, so those lines are dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "GDAL_NODATA" not in record.getMessage()


logging.getLogger("tifffile").addFilter(_NodataReadHere())


@dataclass(frozen=True)
class Rendering:
    """How an image's samples become 8-bit RGB: ``bands``, the 0-based red, green and blue bands
    (or one band, shown as grey; empty: the default of the module's docstring); ``stretch``, the
    low and high percentiles of a deep image's values that become 0 and 255."""

    bands: tuple[int, ...] = ()
    stretch: tuple[float, float] = (2.0, 98.0)

    def __post_init__(self):  # lists too, as a settings file gives them: Rendering(**settings)
        object.__setattr__(self, "bands", tuple(int(b) for b in self.bands))
        object.__setattr__(self, "stretch", tuple(float(p) for p in self.stretch))
        if len(self.bands) not in (0, 1, 3) or any(b < 0 for b in self.bands):
            raise ValueError(f"bands must be three 0-based indices (or one), not {list(self.bands)}")
        low, high = self.stretch
        if not 0 <= low < high <= 100:
            raise ValueError(f"stretch must be two percentiles, 0 <= low < high <= 100, not {list(self.stretch)}")

    def describe(self) -> str:
        """The choice in words, for records and reports."""
        if not self.bands:
            bands = "the first three bands of a 3- or 4-band image (one band as grey)"
        elif len(self.bands) == 1:
            bands = f"band {self.bands[0]} as grey"
        else:
            bands = f"bands {list(self.bands)} as red, green and blue"
        return f"{bands}; deeper than 8 bits: percentiles {self.stretch[0]:g} to {self.stretch[1]:g} stretched to 0-255"


DEFAULT_RENDERING = Rendering()  # the defaults: the first three of 3 or 4 bands, the 2-98 percentile stretch


@dataclass(frozen=True)
class Decoded:
    """An image as RGB, and how it was read (``how``: e.g. ``TIFF 16-bit, 4 bands, band-sequential``)."""

    image: Image.Image
    how: str


def load_rgb(
    path: Path,
    max_megapixels: float | None = None,
    shown_as: str | None = None,
    rendering: Rendering = DEFAULT_RENDERING,
) -> Image.Image:
    """``path`` decoded to an 8-bit RGB image; InputError (one line, the file first: ``shown_as``,
    else the path) when it is not a readable image or has more than ``max_megapixels`` million pixels."""
    return decode(path, max_megapixels, shown_as, rendering).image


def decode(
    path: Path,
    max_megapixels: float | None = None,
    shown_as: str | None = None,
    rendering: Rendering = DEFAULT_RENDERING,
) -> Decoded:
    """:func:`load_rgb`, and how the file was read."""
    decoded = _opened(Path(path), max_megapixels, shown_as or str(path), rendering, decode=True)
    assert decoded is not None
    return decoded


def check_image(
    path: Path,
    max_megapixels: float | None = None,
    shown_as: str | None = None,
    rendering: Rendering = DEFAULT_RENDERING,
) -> None:
    """What :func:`load_rgb` refuses from the file's header alone (not an image, too many pixels,
    bands unknown or missing), without decoding it: a check before long work."""
    _opened(Path(path), max_megapixels, shown_as or str(path), rendering, decode=False)


def _opened(path: Path, max_megapixels: float | None, shown: str, rendering: Rendering, decode: bool) -> Decoded | None:
    if _is_tiff(path):
        tiff = _tiff_layout(path, shown)
        if tiff is not None:  # one that Pillow would misread
            _check_size(tiff.width, tiff.height, max_megapixels, shown)
            chosen = _chosen(tiff.bands, rendering.bands, shown, tiff.words(), default=tiff.pages == 1)
            return _from_tiff(path, shown, tiff, chosen, rendering.stretch) if decode else None
    with _decoding(path, shown):
        with warnings.catch_warnings():
            # the cap decides; over twice Pillow's own limit Image.open raises, said in one line
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
    with im:
        _check_size(*im.size, max_megapixels, shown)
        chosen = _chosen(3, rendering.bands, shown, "3 bands (RGB)", default=True)  # of the RGB it becomes
        if not decode:
            return None
        with _decoding(path, shown):
            im.load()
            upright = ImageOps.exif_transpose(im)
        how = f"{im.format or 'image'} {im.mode}" + (", EXIF orientation applied" if _rotated(im) else "")
        rgb = to_rgb(upright, rendering.stretch)
        if chosen != (0, 1, 2):
            rgb = Image.fromarray(np.ascontiguousarray(np.asarray(rgb)[..., list(_as_rgb(chosen))]), "RGB")
        return Decoded(rgb, how)


def _check_size(width: int, height: int, max_megapixels: float | None, shown: str) -> None:
    if max_megapixels is not None and width * height > max_megapixels * 1e6:
        raise InputError(
            f"{shown}: {width}x{height} pixels ({width * height / 1e6:,.1f} megapixels), more "
            f"than the {max_megapixels:g} megapixels allowed per image"
        )


def _rotated(im: Image.Image) -> bool:
    return im.getexif().get(0x0112, 1) not in (1, None)


@contextmanager
def _decoding(path: Path, shown: str):
    """Pillow's errors while it opens or decodes a file, as one line naming it."""
    try:
        yield
    except Image.DecompressionBombError as exc:
        raise InputError(f"{shown}: too large to decode safely ({str(exc).split(' could be')[0]})") from None
    except InputError:
        raise
    except Exception as exc:  # Pillow raises many types for a broken file
        reason = str(exc).replace(str(path), path.name).splitlines()[0] if str(exc) else ""
        raise InputError(
            f"{shown}: not a decodable image ({type(exc).__name__}{': ' + reason if reason else ''})"
        ) from None


def to_rgb(im: Image.Image, stretch: tuple[float, float] = Rendering.stretch) -> Image.Image:
    """A decoded Pillow image of any mode as 8-bit RGB (see the module's docstring)."""
    if im.mode in DEEP_GREY:
        return Image.fromarray(_stretch(np.asarray(im)[None], stretch)[0], "L").convert("RGB")
    if im.mode == "P" and "transparency" in im.info or im.mode == "PA":
        im = im.convert("RGBA")
    if im.mode in WITH_ALPHA:
        rgba = np.asarray(im.convert("RGBA"), np.float32)
        over_black = rgba[..., :3] * (rgba[..., 3:] / 255)
        return Image.fromarray(np.rint(over_black).astype(np.uint8), "RGB")
    return im.convert("RGB")  # 1-bit, grey, palette, CMYK, YCbCr, …


def _is_tiff(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) in TIFF_MAGIC
    except OSError:
        return False


@dataclass(frozen=True)
class _TiffLayout:
    width: int
    height: int
    bands: int  # samples and pages together
    pages: int  # pages of the image (1: the bands are its samples)
    bits: int
    planar: bool
    nodata: float | None = None  # the GDAL_NODATA tag's value, NaN included; None: no tag

    def words(self) -> str:
        """``13 bands, one per page``, ``9 bands in 3 pages``, ``4 bands, band-sequential``…"""
        if self.pages > 1:
            pages = ", one per page" if self.pages == self.bands else f" in {self.pages} pages"
        else:
            pages = ", band-sequential" if self.planar else ""
        return f"{self.bands} band{'s' if self.bands != 1 else ''}{pages}"


def _tiff_layout(path: Path, shown: str) -> _TiffLayout | None:
    """The layout of a TIFF's first image (its full-resolution series: overviews and thumbnails
    are other series) when Pillow would misread it, else None (Pillow reads it)."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            axes, shape = series.axes, series.shape
            page = series.keyframe
            bits, planar = int(page.bitspersample), page.planarconfig == 2
            samples, dtype = int(page.samplesperpixel), series.dtype
            nodata_tag = page.tags.valueof(42113)  # GDAL_NODATA: one value for every band, as text
    except Exception:  # not a TIFF tifffile reads: Pillow says what is wrong
        return None
    if "Y" not in axes or "X" not in axes:
        return None
    height, width = shape[axes.index("Y")], shape[axes.index("X")]
    bands = int(np.prod([n for a, n in zip(axes, shape, strict=True) if a not in "YX"], dtype=np.int64))
    pages = bands // max(samples, 1)
    if bits <= 8 and dtype.kind in "ub" and not planar and samples <= 4 and pages == 1:
        return None  # 8-bit grey, RGB, RGBA, CMYK, palette…: Pillow's conversions apply
    return _TiffLayout(width, height, bands, pages, bits, planar, _nodata(nodata_tag, shown))


def _nodata(tag: str | None, shown: str) -> float | None:
    """The GDAL_NODATA tag's number (GDAL writes it as text: ``-9999``, ``nan``, ``-3.4e+38``;
    tifffile gives it as str, its NULs stripped; a decimal comma is read as a point); InputError
    when it is not a number."""
    if tag is None:
        return None
    try:
        return float(tag.replace(",", "."))
    except ValueError:
        raise InputError(f"{shown}: GDAL_NODATA tag {tag!r} is not a number") from None


def _nodata_samples(bands: np.ndarray, nodata: float | None) -> np.ndarray | None:
    """Where ``bands`` hold the nodata value, compared in their own type (a float32 band's
    -3.4e+38 is the float32 nearest the text); None when no sample can hold it (no tag, NaN, which
    the stretch leaves out anyway, or a value an integer band cannot hold)."""
    if nodata is None or np.isnan(nodata):
        return None
    if bands.dtype.kind == "f":
        with np.errstate(over="ignore"):
            value = bands.dtype.type(nodata)
    elif nodata.is_integer() and np.iinfo(bands.dtype).min <= nodata <= np.iinfo(bands.dtype).max:
        value = bands.dtype.type(int(nodata))
    else:
        return None
    return bands == value


def _chosen(count: int, bands: tuple[int, ...], shown: str, words: str, default: bool) -> tuple[int, ...]:
    """The bands shown (one: as grey) of an image of ``count`` bands, from the header: ``bands``
    as chosen, else one band as grey or, where ``default`` allows, the first three of 3 or 4;
    BandChoiceError when there is no choice to make or a chosen band is missing."""
    if not bands:
        if count == 1:
            return (0,)
        if count in (3, 4) and default:
            return (0, 1, 2)
        raise BandChoiceError(f"{shown}: {words}: which are red, green and blue is not known")
    outside = [b for b in bands if b >= count]
    if outside:
        raise BandChoiceError(f"{shown}: {words}, so there is no band {outside[0]} (0-based)")
    return bands


def _as_rgb(chosen: tuple[int, ...]) -> tuple[int, ...]:
    """The three channels of the picture: one band chosen is grey."""
    return chosen * 3 if len(chosen) == 1 else chosen


def _from_tiff(
    path: Path, shown: str, layout: _TiffLayout, chosen: tuple[int, ...], stretch: tuple[float, float]
) -> Decoded:
    bands = _tiff_bands(path, shown, layout)
    kind = f"{layout.bits}-bit" + {"f": " float", "i": " signed"}.get(bands.dtype.kind, "")
    distinct = list(dict.fromkeys(chosen))  # each band once, for the percentiles
    shown_bands = bands[distinct]
    if bands.dtype.kind in "ub" and layout.bits <= 8:
        shown_bands = shown_bands.astype(np.uint8)
    else:
        missing = _nodata_samples(shown_bands, layout.nodata)
        if missing is not None:
            shown_bands = np.where(missing, np.nan, shown_bands.astype(np.float64))
        shown_bands = _stretch(shown_bands, stretch)
    rgb = shown_bands[[distinct.index(b) for b in _as_rgb(chosen)]]
    nodata = "" if layout.nodata is None else f", nodata {layout.nodata:g}"
    return Decoded(Image.fromarray(np.moveaxis(rgb, 0, -1), "RGB"), f"TIFF {kind}, {layout.words()}{nodata}")


def _tiff_bands(path: Path, shown: str, layout: _TiffLayout) -> np.ndarray:
    """The TIFF's first image as (bands, height, width), read by tifffile; a single deep grey
    band in a compression tifffile cannot decode alone (LZW, JPEG without imagecodecs) by Pillow,
    which reads those at full depth."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            a, axes = series.asarray(), series.axes
        return np.moveaxis(a, [axes.index("Y"), axes.index("X")], [-2, -1]).reshape(-1, layout.height, layout.width)
    except Exception as exc:  # e.g. a compression that needs the optional imagecodecs package
        problem = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    if layout.bands == 1 and layout.pages == 1:
        try:
            with Image.open(path) as im:
                if im.mode in DEEP_GREY:
                    im.load()
                    return np.asarray(im)[None]
        except Exception:
            pass
    raise InputError(f"{shown}: a TIFF that cannot be read ({problem})")


def _stretch(a: np.ndarray, percentiles: tuple[float, float]) -> np.ndarray:
    """Samples of any depth scaled to uint8: the ``percentiles`` of the finite values (all bands
    together) become 0 and 255, what lies beyond is clipped, NaN is the darkest value."""
    a = np.asarray(a, np.float64)
    finite = a[np.isfinite(a)]
    lo, hi = (float(v) for v in np.percentile(finite, percentiles)) if finite.size else (0.0, 0.0)
    if hi <= lo and finite.size:  # most values alike: the full range, if there is one
        lo, hi = float(finite.min()), float(finite.max())
    if hi <= lo:
        return np.zeros(a.shape, np.uint8)
    scaled = (np.nan_to_num(a, nan=lo, posinf=hi, neginf=lo) - lo) * (255 / (hi - lo))
    return np.rint(np.clip(scaled, 0, 255)).astype(np.uint8)
