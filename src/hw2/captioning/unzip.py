"""Extract a zip of images safely: nothing escapes the target folder, no links, images only."""

from __future__ import annotations

import stat
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from ..common.atomic import atomic_dir
from ..common.disk import megabytes, require_space
from ..common.errors import InputError
from ..common.formats import IMAGE_SUFFIXES
from .images import DEFAULT_RENDERING, Rendering, decode

JUNK = ("__MACOSX/", ".DS_Store", "Thumbs.db", "desktop.ini")


@dataclass(frozen=True)
class Extracted:
    """What :func:`extract_images` did besides extracting: ``skipped``, the images in the zip that
    were not wanted; ``read_as``, how many images were read in each way (``TIFF RGB``, ``TIFF
    16-bit, 4 bands``…)."""

    skipped: list[str]
    read_as: dict[str, int]


def _image_entries(zf: zipfile.ZipFile, zip_path: Path) -> dict[str, zipfile.ZipInfo]:
    """Image entries by base name, after refusing any unsafe entry.

    Accepts the layouts the public sets use: files at the top of the zip or inside folders
    (``images/1.tif``, ``UCM_captions/imgs/1.tif``); the base names must be unique.
    """
    entries: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        name = info.filename
        pure = PurePosixPath(name.replace("\\", "/"))
        if name.startswith(("/", "\\")) or pure.is_absolute() or (len(name) > 1 and name[1] == ":"):
            raise InputError(f"{zip_path}: entry {name!r} has an absolute path; refusing to extract")
        if ".." in pure.parts:
            raise InputError(f"{zip_path}: entry {name!r} would escape the target folder (..); refusing to extract")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise InputError(f"{zip_path}: entry {name!r} is a symbolic link; refusing to extract")
        if info.is_dir() or any(j in name for j in JUNK) or pure.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        if pure.name in entries:
            raise InputError(
                f"{zip_path}: two entries are named {pure.name} ({entries[pure.name].filename} and {name})"
            )
        entries[pure.name] = info
    return entries


def extract_images(
    zip_path: Path,
    out_dir: Path,
    wanted: list[str],
    max_image_bytes: int = 100 * 2**20,
    max_total_bytes: int = 20_000 * 2**20,
    max_megapixels: float = 100,
    rendering: Rendering = DEFAULT_RENDERING,
) -> Extracted:
    """Extract the images named in ``wanted`` from ``zip_path`` into ``out_dir`` (flat).

    Every wanted image must be in the zip, no larger than ``max_image_bytes`` unpacked, all of them
    together no larger than ``max_total_bytes`` (checked against the sizes the zip declares before
    anything is written, and again while streaming, in case they lie), and decode. ``out_dir``
    is replaced only when all are extracted and checked (:func:`atomic_dir`: a killed run's work
    folder is removed by the next). Returns the names not wanted that the zip also held, and how
    many images were read in each way (``rendering``: how they become RGB).
    """
    zip_path, out_dir = Path(zip_path), Path(out_dir)
    with atomic_dir(out_dir) as work:
        try:
            zf = zipfile.ZipFile(zip_path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise InputError(f"{zip_path}: not a readable zip file ({exc})") from None
        with zf:
            return _extract(zf, zip_path, work, wanted, max_image_bytes, max_total_bytes, max_megapixels, rendering)


def _extract(
    zf: zipfile.ZipFile,
    zip_path: Path,
    work: Path,
    wanted: list[str],
    max_image_bytes: int,
    max_total_bytes: int,
    max_megapixels: float,
    rendering: Rendering,
) -> Extracted:
    """Into ``work``: the checks and the extraction of :func:`extract_images`."""
    entries = _image_entries(zf, zip_path)
    if not entries:
        raise InputError(f"{zip_path}: holds no image files ({', '.join(IMAGE_SUFFIXES)})")
    missing = [n for n in wanted if n not in entries]
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise InputError(f"{zip_path}: captioned image(s) missing from the zip: {', '.join(missing[:5])}{more}")
    for name in wanted:
        if entries[name].file_size > max_image_bytes:
            raise InputError(
                f"{zip_path}: {entries[name].filename} would unpack to {megabytes(entries[name].file_size)}, "
                f"more than the {megabytes(max_image_bytes)} allowed per image"
            )
    declared = sum(entries[name].file_size for name in wanted)
    if declared > max_total_bytes:
        raise InputError(
            f"{zip_path}: the captioned images would unpack to {megabytes(declared)}, more than the "
            f"{megabytes(max_total_bytes)} allowed in all"
        )
    require_space(work.parent, declared + 2**20, f"the {len(wanted):,} captioned images of {zip_path.name}")
    total = 0
    read_as: Counter[str] = Counter()
    for name in tqdm(wanted, desc="unzip", unit="image", leave=False, disable=None):
        target = work / name
        try:
            with zf.open(entries[name]) as src, open(target, "wb") as dst:
                written = 0
                while block := src.read(1 << 20):
                    written += len(block)
                    total += len(block)
                    if written > max_image_bytes or total > max_total_bytes:
                        raise InputError(
                            f"{zip_path}: {entries[name].filename} unpacks to more than the "
                            f"{megabytes(max_image_bytes)} allowed per image (or the "
                            f"{megabytes(max_total_bytes)} in all); refusing the rest"
                        )
                    dst.write(block)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:  # a size or CRC that does not match
            raise InputError(f"{zip_path}: {entries[name].filename} is corrupt ({exc})") from None
        shown = f"{zip_path}: {entries[name].filename}"
        read_as[decode(target, max_megapixels, shown, rendering).how] += 1  # decodes, in its size
    return Extracted(sorted(set(entries) - set(wanted)), dict(sorted(read_as.items())))
