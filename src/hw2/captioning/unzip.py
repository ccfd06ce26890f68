"""Extract a zip of images safely: nothing escapes the target folder, no links, images only."""
from __future__ import annotations

import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from PIL import Image
from tqdm import tqdm

from ..common.errors import InputError
from .dataset import IMAGE_SUFFIXES

JUNK = ("__MACOSX/", ".DS_Store", "Thumbs.db", "desktop.ini")


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
            raise InputError(f"{zip_path}: two entries are named {pure.name} "
                             f"({entries[pure.name].filename} and {name})")
        entries[pure.name] = info
    return entries


def extract_images(zip_path: Path, out_dir: Path, wanted: list[str]) -> list[str]:
    """Extract the images named in ``wanted`` from ``zip_path`` into ``out_dir`` (flat).

    Every wanted image must be in the zip and decode; ``out_dir`` is replaced only when all
    are extracted and checked. Returns the names not wanted that the zip also held.
    """
    zip_path, out_dir = Path(zip_path), Path(out_dir)
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{zip_path}: not a readable zip file ({exc})") from None
    with zf:
        entries = _image_entries(zf, zip_path)
        if not entries:
            raise InputError(f"{zip_path}: holds no image files ({', '.join(IMAGE_SUFFIXES)})")
        missing = [n for n in wanted if n not in entries]
        if missing:
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise InputError(f"{zip_path}: captioned image(s) missing from the zip: {', '.join(missing[:5])}{more}")
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
        try:
            for name in tqdm(wanted, desc="unzip", unit="image", leave=False, disable=None):
                target = tmp / name
                with zf.open(entries[name]) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                try:
                    with Image.open(target) as im:
                        im.load()
                except Exception as exc:  # PIL raises many types for a broken file
                    raise InputError(f"{zip_path}: {entries[name].filename} is not a decodable image "
                                     f"({type(exc).__name__}: {exc})") from None
            if out_dir.exists():
                shutil.rmtree(out_dir)
            tmp.rename(out_dir)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)
    return sorted(set(entries) - set(wanted))
