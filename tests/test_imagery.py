"""Imagery as remote-sensing users hold it (issue 27's table, row by row): multi-band and
multi-page TIFFs as tifffile and Pillow write them, the band choice, the percentile stretch and a
photograph's EXIF orientation, through the one loader (hw2.captioning.images)."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PIL import Image

from hw2.captioning.images import DEFAULT_RENDERING, BandChoiceError, Rendering, check_image, decode, load_rgb
from hw2.common.errors import InputError


def pixels(path, rendering: Rendering = DEFAULT_RENDERING) -> np.ndarray:
    im = load_rgb(path, rendering=rendering)
    assert im.mode == "RGB"
    return np.asarray(im)


def bands_of(n: int, size: int = 8) -> np.ndarray:
    """(n, size, size) uint16: band k holds 1000 * (k + 1), except pixel (0, 0), 0 in every band."""
    a = np.empty((n, size, size), np.uint16)
    a[:] = (1000 * np.arange(1, n + 1, dtype=np.uint16))[:, None, None]
    a[:, 0, 0] = 0
    return a


def test_a_13_band_stack_one_band_per_page_needs_a_choice_and_shows_the_bands_chosen(tmp_path):
    path = tmp_path / "s2.tif"
    tifffile.imwrite(path, bands_of(13))  # a (13, H, W) array: one band per page, as tifffile writes it
    with pytest.raises(BandChoiceError) as refused:
        load_rgb(path)
    assert str(refused.value) == f"{path}: 13 bands, one per page: which are red, green and blue is not known"
    # Sentinel-2's B4, B3, B2, on one range for the three (0 to 4000): 4000, 3000 and 2000
    got = pixels(path, Rendering(bands=(3, 2, 1), stretch=(0, 100)))
    assert got[1, 1].tolist() == [255, 191, 128] and got[0, 0].tolist() == [0, 0, 0]
    assert decode(path, rendering=Rendering(bands=(3, 2, 1))).how == "TIFF 16-bit, 13 bands, one per page"
    grey = pixels(path, Rendering(bands=(7,), stretch=(0, 100)))  # one band: grey
    assert grey[1, 1].tolist() == [255, 255, 255] and grey[0, 0].tolist() == [0, 0, 0]


def test_a_band_the_image_lacks_is_one_line(tmp_path):
    tifffile.imwrite(tmp_path / "s2.tif", bands_of(13))
    with pytest.raises(BandChoiceError, match=r"s2.tif: 13 bands, one per page, so there is no band 13 \(0-based\)$"):
        load_rgb(tmp_path / "s2.tif", rendering=Rendering(bands=(13, 2, 1)))
    Image.new("RGB", (4, 4)).save(tmp_path / "rgb.png")
    with pytest.raises(BandChoiceError, match=r"rgb.png: 3 bands \(RGB\), so there is no band 3 \(0-based\)$"):
        load_rgb(tmp_path / "rgb.png", rendering=Rendering(bands=(3, 2, 1)))


def test_planar_and_interleaved_4_band_tiffs_read_alike_as_their_first_three_bands(tmp_path):
    a = np.random.default_rng(0).integers(0, 4096, (4, 16, 16), dtype=np.uint16)  # R, G, B, near-infrared
    tifffile.imwrite(tmp_path / "planar.tif", a, planarconfig="separate", photometric="minisblack")
    tifffile.imwrite(tmp_path / "interleaved.tif", np.moveaxis(a, 0, -1), photometric="rgb", extrasamples=[0])
    tifffile.imwrite(tmp_path / "rgb.tif", np.moveaxis(a[:3], 0, -1), photometric="rgb")
    planar, interleaved, rgb = (pixels(tmp_path / f"{n}.tif") for n in ("planar", "interleaved", "rgb"))
    assert np.array_equal(planar, interleaved) and np.array_equal(planar, rgb)  # the fourth band is not shown
    assert decode(tmp_path / "planar.tif").how == "TIFF 16-bit, 4 bands, band-sequential"
    assert decode(tmp_path / "interleaved.tif").how == "TIFF 16-bit, 4 bands"
    false_colour = pixels(tmp_path / "planar.tif", Rendering(bands=(3, 0, 1)))  # near-infrared as red
    assert not np.array_equal(false_colour, planar)


def test_a_multi_page_tiff_needs_a_choice_and_its_pages_bands_count_in_order(tmp_path):
    pages = [Image.new("RGB", (6, 4), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    pages[0].save(tmp_path / "pages.tif", save_all=True, append_images=pages[1:])  # was read as its first page
    with pytest.raises(BandChoiceError, match=r"pages.tif: 9 bands in 3 pages: which are red, green and blue"):
        load_rgb(tmp_path / "pages.tif")
    assert pixels(tmp_path / "pages.tif", Rendering(bands=(0, 1, 2)))[0, 0].tolist() == [255, 0, 0]  # page 1
    assert pixels(tmp_path / "pages.tif", Rendering(bands=(3, 4, 5)))[0, 0].tolist() == [0, 255, 0]  # page 2
    grey_pages = np.zeros((3, 6, 6), np.uint8)
    tifffile.imwrite(tmp_path / "grey_pages.tif", grey_pages, photometric="minisblack")  # one band per page
    with pytest.raises(BandChoiceError, match=r"grey_pages.tif: 3 bands, one per page: which are"):
        load_rgb(tmp_path / "grey_pages.tif")


def test_plain_8_bit_tiffs_are_read_as_before(tmp_path):
    """Pillow still reads what it reads right (the committed synthetic set: 8-bit RGB TIFFs)."""
    a = np.random.default_rng(1).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    Image.fromarray(a).save(tmp_path / "rgb8.tif")
    got = decode(tmp_path / "rgb8.tif")
    assert got.how == "TIFF RGB" and np.array_equal(np.asarray(got.image), a)


def test_a_photos_exif_orientation_is_applied(tmp_path):
    im = Image.new("RGB", (256, 128), (0, 0, 255))
    im.paste((255, 0, 0), (0, 0, 32, 32))  # a red corner, top left as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # stored on its side: shown turned 90 degrees clockwise
    im.save(tmp_path / "phone.jpg", exif=exif, quality=95)
    got = decode(tmp_path / "phone.jpg")
    assert got.image.size == (128, 256) and got.how == "JPEG RGB, EXIF orientation applied"
    a = np.asarray(got.image)
    assert a[5, -5, 0] > 200 and a[5, 5, 0] < 50  # the red corner is now top right


def test_a_few_saturated_pixels_no_longer_darken_a_deep_image(tmp_path):
    rng = np.random.default_rng(0)
    eight = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    sixteen = eight.astype(np.uint16) * 16 + 100  # a 12-bit sensor's range
    hot = sixteen.copy()
    hot[rng.integers(0, 64, 5), rng.integers(0, 64, 5)] = 65535  # five saturated pixels
    tifffile.imwrite(tmp_path / "clean.tif", sixteen, photometric="rgb")
    tifffile.imwrite(tmp_path / "hot.tif", hot, photometric="rgb")
    clean, with_hot = pixels(tmp_path / "clean.tif"), pixels(tmp_path / "hot.tif")
    cool = (hot != 65535).all(axis=-1)
    assert np.abs(clean[cool].astype(int) - with_hot[cool]).max() <= 2  # the 2-98 cut ignores them
    assert abs(with_hot[cool].mean() - eight[cool].mean()) < 5
    min_max = pixels(tmp_path / "hot.tif", Rendering(stretch=(0, 100)))  # the old scaling: all dark
    assert min_max[cool].mean() < eight[cool].mean() / 10


def test_the_choice_is_checked():
    with pytest.raises(ValueError, match="bands must be three"):
        Rendering(bands=(1, 2))
    with pytest.raises(ValueError, match="stretch must be two percentiles"):
        Rendering(stretch=(98, 2))
    assert Rendering(bands=[3, 2, 1], stretch=[1, 99]) == Rendering(bands=(3, 2, 1), stretch=(1.0, 99.0))  # type: ignore[arg-type]


def test_a_compressed_16_bit_grey_tiff_is_still_read_without_imagecodecs(tmp_path):
    """tifffile needs imagecodecs for LZW; Pillow reads a single deep grey band at full depth, as before."""
    a = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 50) + 1000
    Image.fromarray(a).save(tmp_path / "lzw.tif", compression="tiff_lzw")
    Image.fromarray(a).save(tmp_path / "raw.tif")
    assert np.array_equal(pixels(tmp_path / "lzw.tif"), pixels(tmp_path / "raw.tif"))
    assert decode(tmp_path / "lzw.tif").how == "TIFF 16-bit, 1 band"


def geotiff(path, a: np.ndarray, nodata: str | None, **kwargs) -> None:
    """``a`` written as tifffile writes it, with GDAL's GDAL_NODATA tag (text) when ``nodata`` is given."""
    tags = [(42113, "s", 0, nodata, True)] if nodata is not None else []
    tifffile.imwrite(path, a, extratags=tags, **kwargs)


def test_a_geotiffs_nodata_is_left_out_of_the_stretch_and_shown_black(tmp_path):
    rng = np.random.default_rng(0)
    scene = rng.integers(200, 3000, (40, 40, 3), dtype=np.int16)  # a signed 16-bit scene
    edged = np.concatenate([np.full((40, 20, 3), -9999, np.int16), scene], axis=1)  # a third of it nodata
    geotiff(tmp_path / "scene.tif", scene, None, photometric="rgb")
    geotiff(tmp_path / "edged.tif", edged, "-9999", photometric="rgb")
    geotiff(tmp_path / "untagged.tif", edged, None, photometric="rgb")
    alone, edged_px, untagged = (pixels(tmp_path / f"{n}.tif") for n in ("scene", "edged", "untagged"))
    assert np.array_equal(edged_px[:, 20:], alone)  # the valid pixels exactly as the scene alone
    assert (edged_px[:, :20] == 0).all()  # nodata: the darkest value
    assert decode(tmp_path / "edged.tif").how == "TIFF 16-bit signed, 3 bands, nodata -9999"
    # without the tag, -9999 is the 2nd percentile and the scene is squeezed into the top grey levels
    assert untagged[:, 20:].min() > 200 and alone.min() == 0


def test_nodata_is_compared_in_the_bands_type_and_a_value_no_band_can_hold_matches_nothing(tmp_path, caplog):
    a = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    a[:, :2] = np.finfo(np.float32).min  # GDAL's float32 nodata, written as fewer digits than it has
    geotiff(tmp_path / "float.tif", a, "-3.40282346639e+38")
    got = pixels(tmp_path / "float.tif")
    assert (got[:, :2] == 0).all() and got[:, 2:].max() == 255 and got[:, 2:].min() < 10
    b = (np.arange(64, dtype=np.uint16).reshape(8, 8) + 1) * 100
    geotiff(tmp_path / "huge.tif", b, "70000")  # beyond uint16: no pixel is nodata
    geotiff(tmp_path / "comma.tif", b, "6400,0")  # a decimal comma, as some writers put it
    geotiff(tmp_path / "plain.tif", b, None)
    assert np.array_equal(pixels(tmp_path / "huge.tif"), pixels(tmp_path / "plain.tif"))
    assert not [r.getMessage() for r in caplog.records if r.name == "tifffile"]  # its own warning: dropped
    comma = pixels(tmp_path / "comma.tif")
    assert comma[-1, -1].tolist() == [0, 0, 0] and comma[-1, -2].tolist() == [255, 255, 255]


def test_a_nodata_tag_that_is_not_a_number_is_one_line_from_the_header(tmp_path, caplog):
    geotiff(tmp_path / "bad.tif", np.ones((8, 8), np.uint16), "none")
    with pytest.raises(InputError) as refused:
        check_image(tmp_path / "bad.tif")
    assert str(refused.value) == f"{tmp_path / 'bad.tif'}: GDAL_NODATA tag 'none' is not a number"
    assert not [r.getMessage() for r in caplog.records if r.name == "tifffile"]  # that line alone
