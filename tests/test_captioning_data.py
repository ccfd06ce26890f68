"""Caption datasets: the Karpathy format as UCM, Sydney and RSICD publish it, safe unzip, and
the synthetic demo set."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import stat
import zipfile
from collections import deque

import numpy as np
import pytest
from PIL import Image

from hw2.captioning import synthetic
from hw2.captioning.dataset import find_inputs, load_caption_set
from hw2.captioning.synthetic import COLOURS, NUMBERS, generate, scene
from hw2.captioning.unzip import extract_images
from hw2.common.errors import InputError


def image_bytes(fmt: str, size=(64, 60), colour=(90, 120, 60)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format=fmt)
    return buf.getvalue()


def karpathy(names_splits, dataset, capitalise=False) -> dict:
    images = []
    for i, (name, split) in enumerate(names_splits):
        tokens = ["There", "are", "many", "Buildings"] if capitalise else ["there", "are", "many", "buildings"]
        images.append(
            {
                "filename": name,
                "imgid": i,
                "split": split,
                "sentids": [2 * i, 2 * i + 1],
                "sentences": [
                    {"raw": "There are many buildings.", "tokens": tokens, "imgid": i, "sentid": 2 * i},
                    {"raw": "A River.", "tokens": [], "imgid": i, "sentid": 2 * i + 1},
                ],
            }
        )
    return {"images": images, "dataset": dataset}


LAYOUTS = {  # as the public sets are distributed: image type, folder inside the zip, size, names
    "ucm": ("TIFF", "imgs/", (256, 256), [f"{i}.tif" for i in range(1, 7)]),
    "sydney": ("TIFF", "", (500, 500), [f"{i}.tif" for i in range(1, 7)]),
    "rsicd": (
        "JPEG",
        "RSICD_images/",
        (224, 224),
        ["airport_1.jpg", "beach_12.jpg", "park_3.jpg", "port_40.jpg", "school_2.jpg", "viaduct_9.jpg"],
    ),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_public_layouts_read_and_extract(tmp_path, layout):
    fmt, folder, size, names = LAYOUTS[layout]
    splits = ["train", "train", "train", "val", "test", "test"]
    raw = tmp_path / "raw"
    raw.mkdir()
    with zipfile.ZipFile(raw / "images.zip", "w") as zf:
        if folder:
            zf.writestr(folder, "")
        for k, name in enumerate(names):  # sizes vary slightly, as in the real sets
            zf.writestr(folder + name, image_bytes(fmt, (size[0] - k, size[1])))
        zf.writestr("__MACOSX/._1.tif", b"junk")
    (raw / f"dataset_{layout}.json").write_text(
        json.dumps(karpathy(zip(names, splits, strict=True), layout, capitalise=True))
    )
    found = find_inputs(raw)
    assert found is not None
    zip_path, json_path = found
    captions = load_caption_set(json_path)
    assert captions.name == layout and captions.counts() == {"train": 3, "val": 1, "test": 2}
    assert captions.images[0].captions == [["there", "are", "many", "buildings"], ["a", "river"]]
    extracted = extract_images(zip_path, tmp_path / "images", [im.filename for im in captions.images])
    assert extracted.skipped == [] and sorted(os.listdir(tmp_path / "images")) == sorted(names)
    assert sum(extracted.read_as.values()) == len(names)


def write_zip(path, entries):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize(
    "entry, message",
    [
        ("../evil.tif", "would escape the target folder"),
        ("imgs/../../evil.tif", "would escape the target folder"),
        ("/etc/evil.tif", "absolute path"),
    ],
)
def test_unsafe_zip_entries_are_refused(tmp_path, entry, message):
    zip_path = write_zip(tmp_path / "images.zip", {"1.tif": image_bytes("TIFF"), entry: image_bytes("TIFF")})
    with pytest.raises(InputError, match=message):
        extract_images(zip_path, tmp_path / "out", ["1.tif"])
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil.tif").exists()


def test_a_symlink_entry_is_refused(tmp_path):
    zip_path = tmp_path / "images.zip"
    with zipfile.ZipFile(zip_path, "w") as zf:
        zf.writestr("1.tif", image_bytes("TIFF"))
        link = zipfile.ZipInfo("2.tif")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    with pytest.raises(InputError, match=r"'2.tif' is a symbolic link"):
        extract_images(zip_path, tmp_path / "out", ["1.tif", "2.tif"])
    assert not (tmp_path / "out").exists()


def test_undecodable_captioned_image_is_refused_and_nothing_is_left(tmp_path):
    zip_path = write_zip(tmp_path / "images.zip", {"1.tif": image_bytes("TIFF"), "2.tif": b"not an image"})
    with pytest.raises(InputError, match=r"images.zip: 2.tif: not a decodable image"):
        extract_images(zip_path, tmp_path / "out", ["1.tif", "2.tif"])
    assert os.listdir(tmp_path) == ["images.zip"]


def test_an_entry_larger_than_its_header_says_is_refused_and_nothing_is_left(tmp_path):
    """A zip whose headers understate an entry's size (a zip bomb's trick): never more than the
    declared size is written, and the mismatch is one clear error."""
    import struct

    path = tmp_path / "lie.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("1.tif", bytes(3 * 2**20))
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # local and central headers
        at = data.find(signature) + offset
        data[at : at + 4] = struct.pack("<I", 1000)
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"lie.zip: 1.tif is corrupt"):
        extract_images(path, tmp_path / "out", ["1.tif"], max_image_bytes=2**20)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lie.zip"]


def test_a_killed_extraction_is_cleaned_up_by_the_next(tmp_path):
    zip_path = tmp_path / "images.zip"
    with zipfile.ZipFile(zip_path, "w") as zf:
        zf.writestr("1.tif", image_bytes("TIFF"))
    leftover = tmp_path / ".out.partial"  # what a kill -9 in the middle leaves
    leftover.mkdir()
    (leftover / "half.tif").write_bytes(b"II*")
    extract_images(zip_path, tmp_path / "out", ["1.tif"])
    assert not leftover.exists() and sorted(p.name for p in (tmp_path / "out").iterdir()) == ["1.tif"]


def test_missing_captioned_image_is_named(tmp_path):
    zip_path = write_zip(tmp_path / "images.zip", {"1.tif": image_bytes("TIFF")})
    with pytest.raises(InputError, match=r"missing from the zip: 7.tif"):
        extract_images(zip_path, tmp_path / "out", ["1.tif", "7.tif"])


def test_empty_zip_is_refused(tmp_path):
    zip_path = write_zip(tmp_path / "images.zip", {})
    with pytest.raises(InputError, match="holds no image files"):
        extract_images(zip_path, tmp_path / "out", [])


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"dataset": "x"}), "no 'images' list"),
        (json.dumps(karpathy([("1.tif", "train"), ("2.tif", "val")], "x")), "no image in the test split"),
        (json.dumps(karpathy([("1.tif", "test"), ("2.tif", "val")], "x")), "no image in the train split"),
        (
            json.dumps({"images": [{"filename": "1.tif", "split": "train", "sentences": []}]}),
            r"images\[0\] \(1.tif\): sentences must be a non-empty list of sentences, not \[\]",
        ),
    ],
)
def test_bad_captions_files_are_refused_with_their_name(tmp_path, content, message):
    path = tmp_path / "dataset.json"
    path.write_text(content)
    with pytest.raises(InputError, match=f"dataset.json: {message}"):
        load_caption_set(path)


def test_an_empty_or_absent_folder_means_no_user_data(tmp_path):
    assert find_inputs(tmp_path / "absent") is None
    assert find_inputs(tmp_path) is None
    (tmp_path / "images.zip").write_bytes(b"")
    with pytest.raises(InputError, match="expected one images .zip and one captions .json"):
        find_inputs(tmp_path)


# --- the synthetic demo set -------------------------------------------------------------------


def test_synthetic_set_is_deterministic_and_in_the_published_format(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    summary = generate(a, n=27, seed=5, test_images=("3.tif",))
    generate(b, n=27, seed=5, test_images=("3.tif",))
    generate(c, n=27, seed=6, test_images=("3.tif",))
    assert (a / "images.zip").read_bytes() == (b / "images.zip").read_bytes()
    assert (a / "dataset.json").read_bytes() == (b / "dataset.json").read_bytes()
    assert (a / "images.zip").read_bytes() != (c / "images.zip").read_bytes()
    assert len(summary["kinds"]) >= 8 and sum(summary["splits"].values()) == 27
    captions = load_caption_set(a / "dataset.json")
    assert [im.filename for im in captions.images] == [f"{i}.tif" for i in range(1, 28)]
    assert all(len(im.captions) == 5 and len({" ".join(c) for c in im.captions}) >= 3 for im in captions.images)
    assert captions.images[2].split == "test"
    with zipfile.ZipFile(a / "images.zip") as zf:
        img = Image.open(io.BytesIO(zf.read("1.tif")))
        assert img.format == "TIFF" and img.size == (256, 256) and img.mode == "RGB"


STANDARD_18_SEED_5 = "f958f438f47c9516a9299bc676c5f614c92d607e79e8badecec7d2f1bc86130b"


def test_the_hard_variant_draws_the_same_scenes_harder_and_leaves_the_standard_set_as_it_was(tmp_path):
    std, hard, again = tmp_path / "std", tmp_path / "hard", tmp_path / "again"
    generate(std, n=18, seed=5, test_images=("3.tif",))
    # the standard set of these settings before the hard variant existed (dataset.json's SHA-256)
    assert hashlib.sha256((std / "dataset.json").read_bytes()).hexdigest() == STANDARD_18_SEED_5
    summary = generate(hard, n=18, seed=5, test_images=("3.tif",), hard=True)
    generate(again, n=18, seed=5, test_images=("3.tif",), hard=True)
    assert (hard / "images.zip").read_bytes() == (again / "images.zip").read_bytes()
    assert (hard / "dataset.json").read_bytes() == (again / "dataset.json").read_bytes()
    a, b = load_caption_set(std / "dataset.json"), load_caption_set(hard / "dataset.json")
    assert b.name == "synthetic (hard)" and summary["splits"] == {"train": 16, "val": 1, "test": 1}
    assert [(i.filename, i.split) for i in a.images] == [(i.filename, i.split) for i in b.images]
    words_a = {w for im in a.images for c in im.captions for w in c}
    words_b = {w for im in b.images for c in im.captions for w in c}
    assert len(words_b - words_a) >= 25  # synonyms, openings, vague sentences
    assert all(len(im.captions) == 5 for im in b.images)
    assert sum(
        any(
            c[:2] in (["an", "aerial"], ["it", "is"], ["the", "picture"], ["this", "is"]) or "remote" in c
            for c in im.captions
        )
        for im in b.images
    ) == len(b.images)  # one or two vague sentences each
    with zipfile.ZipFile(std / "images.zip") as za, zipfile.ZipFile(hard / "images.zip") as zb:
        for name in ("1.tif", "5.tif"):
            x = np.asarray(Image.open(io.BytesIO(za.read(name))), dtype=np.int16)
            y = np.asarray(Image.open(io.BytesIO(zb.read(name))), dtype=np.int16)
            assert x.shape == y.shape == (256, 256, 3)
            assert 8 < np.abs(x - y).mean() < 60  # the same scene under clutter, light and grain


def test_default_synthetic_set_has_the_homeworks_images_in_test(tmp_path):
    summary = generate(tmp_path, n=600, seed=0, test_images=("219.tif", "540.tif", "357.tif"))
    assert summary["splits"] == {"train": 480, "val": 60, "test": 60}
    split = {im.filename: im.split for im in load_caption_set(tmp_path / "dataset.json").images}
    assert split["219.tif"] == split["540.tif"] == split["357.tif"] == "test"


def components(mask: np.ndarray) -> list[tuple[float, float]]:
    """Centroids (x, y) of the 4-connected components of a boolean mask."""
    seen = np.zeros_like(mask)
    out = []
    for y0, x0 in zip(*np.nonzero(mask), strict=True):
        if seen[y0, x0]:
            continue
        queue, pixels = deque([(y0, x0)]), []
        seen[y0, x0] = True
        while queue:
            y, x = queue.popleft()
            pixels.append((y, x))
            for ny, nx in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)):
                if 0 <= ny < mask.shape[0] and 0 <= nx < mask.shape[1] and mask[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    queue.append((ny, nx))
        if len(pixels) > 40:  # an object, not noise
            ys, xs = zip(*pixels, strict=True)
            out.append((float(np.mean(xs)), float(np.mean(ys))))
    return out


def side_of(x: float, y: float) -> set[str]:
    return {s for s, ok in (("left", x < 128), ("right", x >= 128), ("top", y < 128), ("bottom", y >= 128)) if ok}


@pytest.mark.parametrize("index", [7, 16, 25, 34])  # parking-lot scenes (the kinds take turns)
def test_parking_captions_state_the_drawn_car_count_colour_and_side(index):
    s = scene(index, seed=0)
    assert s.kind == "parking lot"
    words = s.captions[0].split()
    count = NUMBERS.index(next(w for w in words if w in NUMBERS))
    colour = next(w for w in words if w in ("red", "blue", "white", "yellow"))
    side = next(w for w in words if w in synthetic.SIDES)
    a = np.asarray(s.image, dtype=np.int16)
    mask = np.abs(a - np.array(COLOURS[colour])).max(-1) < 40
    cars = components(mask)
    assert len(cars) == count
    assert all(side in side_of(x, y) for x, y in cars)
    assert all(NUMBERS[count] in c and colour in c for c in s.captions)


@pytest.mark.parametrize("index", [6, 15, 24])  # beach scenes
def test_beach_captions_put_the_sea_where_it_is_drawn(index):
    s = scene(index, seed=0)
    assert s.kind == "beach"
    a = np.asarray(s.image, dtype=np.int16)
    ys, xs = np.nonzero(np.abs(a - np.array(COLOURS["blue"])).max(-1) < 40)
    drawn = {"left": xs.mean() < 100, "right": xs.mean() > 156, "top": ys.mean() < 100, "bottom": ys.mean() > 156}
    (true_side,) = [k for k, v in drawn.items() if v]
    for caption in s.captions:
        said = re.search(r"(sea|ocean|water)( is)? on the (\w+)", caption)
        assert said is not None and said.group(3) == true_side, caption
