"""The one image loader (hw2.captioning.images.load_rgb): every mode a real caption set may hold,
decoded to the RGB the encoder expects, checked pixel by pixel on tiny generated files."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image

from hw2.captioning.features import build_encoder, encode_files
from hw2.captioning.images import DEFAULT_RENDERING, Rendering, load_rgb
from hw2.common.errors import InputError


def pixels(path, rendering: Rendering = DEFAULT_RENDERING) -> np.ndarray:
    im = load_rgb(path, rendering=rendering)
    assert im.mode == "RGB"
    return np.asarray(im)


def test_16_bit_grey_tiff_is_scaled_by_its_true_range(tmp_path):
    # a sensor filling 12 of the 16 bits: Pillow's own conversion made this uniformly white
    a = np.array([[1000, 2000], [3000, 1000 + 2000 * 254 // 255]], np.uint16)
    Image.fromarray(a).save(tmp_path / "grey16.tif")
    assert Image.open(tmp_path / "grey16.tif").mode == "I;16"
    got = pixels(tmp_path / "grey16.tif", Rendering(stretch=(0, 100)))  # min and max: the full range
    assert got[..., 0].tolist() == [[0, 128], [255, 254]]
    assert (got[..., 0] == got[..., 1]).all() and (got[..., 1] == got[..., 2]).all()  # grey stays grey


def test_16_bit_rgb_tiff_is_read_at_full_depth_and_scaled_by_its_range(tmp_path):
    a = np.zeros((4, 4, 3), np.uint16)
    a[..., 0], a[..., 1], a[:2, :, 2] = 1000, 2000, 4000  # Pillow alone reads the high bytes: 3, 7, 15
    tifffile.imwrite(tmp_path / "rgb16.tif", a, photometric="rgb")
    got = pixels(tmp_path / "rgb16.tif")
    expect = np.rint(a.astype(float) * 255 / 4000).astype(np.uint8)  # one range for the three channels
    assert (got == expect).all(), got[0, 0]
    assert got[0, 0].tolist() == [64, 128, 255] and got[3, 0].tolist() == [64, 128, 0]


def test_32_bit_float_grey_is_scaled_and_nan_does_not_spread(tmp_path):
    a = np.array([[-1.0, 0.0], [1.0, np.nan]], np.float32)
    tifffile.imwrite(tmp_path / "float.tif", a)
    got = pixels(tmp_path / "float.tif")[..., 0]
    assert got.tolist() == [[0, 128], [255, 0]]


def test_8_bit_modes_convert_the_usual_way(tmp_path):
    Image.new("L", (2, 2), 77).save(tmp_path / "grey.png")
    assert (pixels(tmp_path / "grey.png") == 77).all()
    bits = Image.new("1", (2, 1))
    bits.putpixel((1, 0), 1)
    bits.save(tmp_path / "bits.png")
    assert pixels(tmp_path / "bits.png")[0].tolist() == [[0, 0, 0], [255, 255, 255]]
    Image.new("CMYK", (4, 4), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg", quality=100)  # pure red in ink
    red = pixels(tmp_path / "cmyk.jpg")[0, 0]
    assert red[0] > 240 and red[1] < 15 and red[2] < 15, red
    palette = Image.new("P", (2, 1))
    palette.putpalette([10, 20, 30, 200, 100, 50])
    palette.putpixel((1, 0), 1)
    palette.save(tmp_path / "palette.png")
    assert pixels(tmp_path / "palette.png")[0].tolist() == [[10, 20, 30], [200, 100, 50]]


def test_transparent_pixels_are_shown_over_black(tmp_path):
    rgba = Image.new("RGBA", (2, 1), (200, 100, 50, 255))
    rgba.putpixel((1, 0), (200, 100, 50, 128))
    rgba.save(tmp_path / "rgba.png")
    assert pixels(tmp_path / "rgba.png")[0].tolist() == [[200, 100, 50], [100, 50, 25]]
    palette = Image.new("P", (2, 1))
    palette.putpalette([10, 20, 30, 200, 100, 50])
    palette.putpixel((1, 0), 1)
    palette.info["transparency"] = 0  # index 0 transparent
    palette.save(tmp_path / "palette_alpha.png", transparency=0)
    assert pixels(tmp_path / "palette_alpha.png")[0].tolist() == [[0, 0, 0], [200, 100, 50]]
    Image.new("LA", (1, 1), (100, 0)).save(tmp_path / "la.png")
    assert pixels(tmp_path / "la.png")[0, 0].tolist() == [0, 0, 0]


def test_a_16_bit_image_gets_the_features_of_its_8_bit_rendering(tmp_path):
    """Through the encoder, as extract_features and tools/caption.py see it."""
    rng = np.random.default_rng(0)
    eight = rng.integers(0, 256, (64, 64), dtype=np.uint8)
    Image.fromarray(eight).save(tmp_path / "eight.png")
    Image.fromarray(eight.astype(np.uint16) * 16 + 100).save(tmp_path / "sixteen.tif")  # 12 bits used
    torch.manual_seed(0)
    encoder = build_encoder("none")
    full_range = Rendering(stretch=(0, 100))
    f = encode_files(encoder, [tmp_path / "eight.png", tmp_path / "sixteen.tif"], 64, rendering=full_range)
    assert torch.equal(f[0], f[1])


def test_an_image_over_the_pixel_cap_is_refused_from_its_header(tmp_path):
    Image.new("RGB", (400, 300)).save(tmp_path / "big.png")
    with pytest.raises(InputError) as refused:
        load_rgb(tmp_path / "big.png", max_megapixels=0.1)
    assert str(refused.value) == (
        f"{tmp_path / 'big.png'}: 400x300 pixels (0.1 megapixels), more than the 0.1 megapixels allowed per image"
    )
    assert load_rgb(tmp_path / "big.png", max_megapixels=0.12).size == (400, 300)


def test_pillows_bomb_check_stays_beneath_the_cap(tmp_path, monkeypatch):
    Image.new("1", (300, 300)).save(tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100 * 100 // 2)  # Pillow refuses over twice this
    with pytest.raises(
        InputError,
        match=r"bomb.png: too large to decode safely \(Image size \(90000 pixels\) "
        r"exceeds limit of 10000 pixels",
    ):
        load_rgb(tmp_path / "bomb.png", max_megapixels=None)


def test_a_file_that_is_not_an_image_is_one_line(tmp_path):
    (tmp_path / "x.tif").write_bytes(b"not an image")
    with pytest.raises(InputError, match=r"x.tif: not a decodable image \(UnidentifiedImageError"):
        load_rgb(tmp_path / "x.tif")
