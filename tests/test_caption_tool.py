"""tools/caption.py's flags and images go through the pipeline's checks before anything is loaded:
one line, exit 1 (in-process: the tool's own main, on this checkout's params.yaml)."""

from __future__ import annotations

import struct
import zlib

import caption  # tools/caption.py
import numpy as np
import pytest
import tifffile
from PIL import Image


def png_header(width: int, height: int) -> bytes:
    """A PNG that says it is width x height pixels of 1-bit grey (its pixels never come)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def image(tmp_path):
    Image.new("RGB", (32, 32), (90, 120, 60)).save(tmp_path / "a.png")
    return tmp_path / "a.png"


def refused(capsys, *argv) -> str:
    assert caption.main([str(a) for a in argv]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


@pytest.mark.parametrize(
    "flags, line",
    [
        (["--beam", "0"], "error: --beam must be an integer between 1 and 100, not 0"),
        (["--beam", "1000"], "error: --beam must be an integer between 1 and 100, not 1000"),
        (
            ["--length-penalty", "nan"],
            "error: --length-penalty must be a number in [0, 10] (0: no length normalisation), not nan",
        ),
        (
            ["--length-penalty", "1e9"],
            "error: --length-penalty must be a number in [0, 10] (0: no length normalisation), not 1000000000.0",
        ),
        (
            ["--length-penalty", "-1"],
            "error: --length-penalty must be a number in [0, 10] (0: no length normalisation), not -1.0",
        ),
        (
            ["--bands", "3,2"],
            "error: --bands must name three bands (red, green, blue), one (grey) or none ([]), not [3, 2]",
        ),
        (["--bands", "red"], "error: --bands red: not a comma-separated list of numbers"),
        (
            ["--stretch", "98,2"],
            "error: --stretch must be two percentiles [low, high] with low below high, not [98.0, 2.0]",
        ),
    ],
)
def test_flags_are_checked_by_the_params_schema(capsys, image, flags, line):
    assert refused(capsys, image, *flags) == line


def test_out_must_be_a_folder(capsys, image, tmp_path):
    (tmp_path / "taken").write_text("a file")
    assert refused(capsys, image, "--out", tmp_path / "taken") == (
        f"error: --out {tmp_path / 'taken'}: a file is there; --out names the folder the figures go to"
    )


def test_a_huge_image_is_refused_from_its_header(capsys, image, tmp_path):
    (tmp_path / "huge.png").write_bytes(png_header(20_000, 20_000))  # 400 megapixels, 60 bytes on disk
    line = refused(capsys, image, tmp_path / "huge.png")
    assert line.startswith(
        f"error: {tmp_path / 'huge.png'}: too large to decode safely (Image size (400000000 pixels) exceeds limit of"
    ), line
    (tmp_path / "big.png").write_bytes(png_header(12_000, 10_000))  # over the cap, under Pillow's own limit
    assert refused(capsys, tmp_path / "big.png") == (
        f"error: {tmp_path / 'big.png'}: 12000x10000 pixels (120.0 megapixels), more than the 100 megapixels "
        "allowed per image"
    )


def test_a_file_that_is_not_an_image(capsys, tmp_path):
    (tmp_path / "notes.tif").write_text("not an image")
    assert refused(capsys, tmp_path / "notes.tif").startswith(
        f"error: {tmp_path / 'notes.tif'}: not a decodable image (UnidentifiedImageError"
    )


def test_an_image_of_many_bands_needs_bands_named_before_anything_is_loaded(capsys, tmp_path):
    stack = tmp_path / "s2.tif"
    tifffile.imwrite(stack, np.zeros((13, 16, 16), np.uint16), photometric="minisblack")
    assert refused(capsys, stack) == (
        f"error: {stack}: 13 bands, one per page: which are red, green and blue is not known; name them with "
        "--bands R,G,B (0-based, e.g. --bands 3,2,1)"
    )
    assert refused(capsys, stack, "--bands", "13,2,1") == (
        f"error: {stack}: 13 bands, one per page, so there is no band 13 (0-based); name them with --bands R,G,B "
        "(0-based, e.g. --bands 3,2,1)"
    )
    caption.main([str(stack), "--bands", "3,2,1", "--out", str(tmp_path / "out")])  # past the check
    assert "band" not in capsys.readouterr().err
