"""The synthetic demo set: aerial-looking scenes drawn procedurally, captioned from what is drawn.

It stands in for a remote-sensing caption set (UCM-captions and the like) when none is present,
so the pipeline runs offline on a fresh machine and the tests have a real fixture. Every caption
word follows from the drawing: the scene kind, how many objects, their colour, and where they
are (left, right, top, bottom, middle), so BLEU measures learning and attention has regions to
find. Deterministic for a seed. It is a demo, never a result about real imagery.

The hard variant (``hard=True``) draws the same scenes and then makes them harder to caption, the
way real remote-sensing sets are: objects no caption mentions (trees, sheds, vehicles, cloud
shadows), uneven lighting, stronger grain, and captions written by "different annotators"
(synonyms, vague sentences that only name the scene, filler openings). Its validation curves
are noisy, as on a real set of a few hundred images.

Output: the Karpathy-style JSON the public sets ship (``images[].filename``, ``split``,
``sentences[].raw`` / ``tokens``) and the images as ``1.tif`` … ``N.tif`` (256×256 RGB).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from tqdm import tqdm

from ..common.atomic import atomic_path

SIZE = 256
NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
COLOURS = {
    "red": (178, 54, 44),
    "blue": (52, 92, 168),
    "white": (236, 236, 232),
    "gray": (128, 128, 128),
    "green": (70, 128, 60),
    "yellow": (210, 186, 92),
    "brown": (128, 90, 58),
    "orange": (214, 120, 40),
}
SIDES = ("left", "right", "top", "bottom")

Rng = np.random.Generator


@dataclass
class Scene:
    kind: str
    image: Image.Image
    captions: list[str]  # five sentences, lower-case words, no punctuation


def _noise(img: Image.Image, rng: Rng, amount: int = 10) -> Image.Image:
    """Texture, so that no region is flat colour (and the encoder sees something like terrain)."""
    a = np.asarray(img, dtype=np.int16)
    a = a + rng.integers(-amount, amount + 1, size=(SIZE // 4, SIZE // 4, 1)).repeat(4, 0).repeat(4, 1)
    a = a + rng.integers(-2, 3, size=a.shape)  # a little per-pixel grain (more would not compress)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def _box_in(side: str) -> tuple[int, int, int, int]:
    """A region (x0, y0, x1, y1) covering one side of the image (or the middle)."""
    h = SIZE // 2
    return {
        "left": (8, 8, h - 8, SIZE - 8),
        "right": (h + 8, 8, SIZE - 8, SIZE - 8),
        "top": (8, 8, SIZE - 8, h - 8),
        "bottom": (8, h + 8, SIZE - 8, SIZE - 8),
        "middle": (SIZE // 4, SIZE // 4, 3 * SIZE // 4, 3 * SIZE // 4),
    }[side]


def _place(n: int, box, size: tuple[int, int], rng: Rng, gap: int = 6) -> list[tuple[int, int]]:
    """Up to ``n`` non-overlapping top-left corners of ``size`` rectangles inside ``box``."""
    x0, y0, x1, y1 = box
    w, h = size
    spots: list[tuple[int, int]] = []
    for _ in range(400):
        if len(spots) == n:
            break
        x, y = int(rng.integers(x0, max(x0 + 1, x1 - w))), int(rng.integers(y0, max(y0 + 1, y1 - h)))
        if all(abs(x - sx) > w + gap or abs(y - sy) > h + gap for sx, sy in spots):
            spots.append((x, y))
    return spots


def _pick(rng: Rng, options):
    return options[int(rng.integers(len(options)))]


def _captions(rng: Rng, templates: list[str], **facts) -> list[str]:
    chosen = rng.choice(len(templates), size=5, replace=len(templates) < 5)
    return [" ".join(templates[i].format(**facts).split()) for i in chosen]


def dense_residential(rng: Rng) -> Scene:
    roof = _pick(rng, ["red", "gray", "white", "brown"])
    vertical = bool(rng.integers(2))
    img = Image.new("RGB", (SIZE, SIZE), (96, 120, 84))
    d = ImageDraw.Draw(img)
    road = (116, 0, 140, SIZE) if vertical else (0, 116, SIZE, 140)
    for y in range(6, SIZE - 18, 22):
        for x in range(6, SIZE - 18, 22):
            if vertical and 104 < x + 9 < 152 or not vertical and 104 < y + 9 < 152:
                continue
            d.rectangle((x, y, x + 15, y + 15), fill=COLOURS[roof])
    d.rectangle(road, fill=COLOURS["gray"])
    orient = "vertical" if vertical else "horizontal"
    ends = "from top to bottom" if vertical else "from left to right"
    return Scene(
        "dense residential",
        _noise(img, rng),
        _captions(
            rng,
            [
                "many buildings with {roof} roofs are densely arranged in a residential area",
                "a dense residential area with a {orient} road through the middle",
                "lots of houses with {roof} roofs are on both sides of a road",
                "a gray road goes {ends} through many {roof} houses",
                "this is a dense residential area with {roof} roofs",
                "many houses are built closely together beside a {orient} road",
            ],
            roof=roof,
            orient=orient,
            ends=ends,
        ),
    )


def sparse_residential(rng: Rng) -> Scene:
    roof, side, n = _pick(rng, ["red", "blue", "white", "orange"]), _pick(rng, SIDES), int(rng.integers(2, 6))
    img = Image.new("RGB", (SIZE, SIZE), COLOURS["green"])
    d = ImageDraw.Draw(img)
    for x, y in _place(n, _box_in(side), (30, 26), rng, gap=14):
        d.rectangle((x, y, x + 30, y + 26), fill=COLOURS[roof])
        d.rectangle((x + 30, y + 8, x + 44, y + 14), fill=COLOURS["gray"])  # a driveway
    return Scene(
        "sparse residential",
        _noise(img, rng),
        _captions(
            rng,
            [
                "{n} houses with {roof} roofs are scattered on the {side} of a green lawn",
                "a sparse residential area with {n} {roof} houses on the {side}",
                "there are {n} {roof} houses on the {side} and green grass around them",
                "{n} buildings with {roof} roofs stand on the {side} of the image",
                "a few {roof} houses are on the {side} surrounded by meadow",
                "some {roof} roofed houses sit sparsely on the {side}",
            ],
            n=NUMBERS[n],
            roof=roof,
            side=side,
        ),
    )


def industrial(rng: Rng) -> Scene:
    n, side = int(rng.integers(1, 4)), _pick(rng, SIDES)
    img = Image.new("RGB", (SIZE, SIZE), (150, 146, 138))
    d = ImageDraw.Draw(img)
    for x, y in _place(n, _box_in(side), (52, 40), rng, gap=8):
        d.rectangle((x, y, x + 52, y + 40), fill=COLOURS["white"])
    for _ in range(6):  # trucks and containers
        x, y = int(rng.integers(0, SIZE - 12)), int(rng.integers(0, SIZE - 6))
        d.rectangle((x, y, x + 10, y + 5), fill=COLOURS[_pick(rng, ["blue", "red", "orange"])])
    word = "building" if n == 1 else "buildings"
    return Scene(
        "industrial",
        _noise(img, rng),
        _captions(
            rng,
            [
                "{n} large white factory {word} on the {side} of an industrial area",
                "an industrial area with {n} big white roofs on the {side}",
                "{n} white {word} with large roofs are on the {side}",
                "this industrial area has {n} large white {word} and some trucks",
                "there are {n} big white factory {word} on the {side} of the image",
            ],
            n=NUMBERS[n],
            word=word,
            side=side,
        ),
    )


def farmland(rng: Rng) -> Scene:
    n, vertical = int(rng.integers(3, 7)), bool(rng.integers(2))
    colours = [_pick(rng, ["green", "yellow", "brown"]) for _ in range(n)]
    for i in range(1, n):
        while colours[i] == colours[i - 1]:
            colours[i] = _pick(rng, ["green", "yellow", "brown"])
    img = Image.new("RGB", (SIZE, SIZE))
    d = ImageDraw.Draw(img)
    edges = np.linspace(0, SIZE, n + 1).astype(int)
    for c, a, b in zip(colours, edges[:-1], edges[1:], strict=True):
        d.rectangle((a, 0, b, SIZE) if vertical else (0, a, SIZE, b), fill=COLOURS[c])
    orient = "vertical" if vertical else "horizontal"
    used = " and ".join(sorted(set(colours)))
    return Scene(
        "farmland",
        _noise(img, rng, 14),
        _captions(
            rng,
            [
                "{n} {orient} strips of farmland in {used}",
                "the farmland is divided into {n} {orient} fields",
                "there are {n} {orient} fields of {used} crops",
                "many crops grow in {n} {orient} strips of {used}",
                "{n} rectangular fields lie side by side in {orient} strips",
            ],
            n=NUMBERS[n],
            orient=orient,
            used=used,
        ),
    )


def forest(rng: Rng) -> Scene:
    side = _pick(rng, SIDES)
    img = Image.new("RGB", (SIZE, SIZE), (34, 72, 36))
    d = ImageDraw.Draw(img)
    for _ in range(260):  # tree crowns
        x, y, r = int(rng.integers(0, SIZE)), int(rng.integers(0, SIZE)), int(rng.integers(5, 11))
        d.ellipse((x - r, y - r, x + r, y + r), fill=(int(rng.integers(20, 60)), int(rng.integers(70, 110)), 40))
    x0, y0, x1, y1 = _box_in(side)
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
    d.ellipse((cx - 34, cy - 28, cx + 34, cy + 28), fill=(170, 160, 96))
    return Scene(
        "forest",
        _noise(img, rng),
        _captions(
            rng,
            [
                "a dense forest with a clearing on the {side}",
                "many green trees grow thickly and there is a bare clearing on the {side}",
                "the forest is dark green with an open patch on the {side}",
                "lots of trees cover the land except a clearing on the {side}",
                "a thick forest with a yellow clearing on the {side}",
            ],
            side=side,
        ),
    )


def river(rng: Rng) -> Scene:
    vertical, land = bool(rng.integers(2)), _pick(rng, ["green", "brown"])
    bridge = bool(rng.integers(2))
    img = Image.new("RGB", (SIZE, SIZE), COLOURS[land])
    d = ImageDraw.Draw(img)
    wobble = rng.integers(-14, 15, size=9)
    pts = [(SIZE // 2 + int(w), int(t)) for w, t in zip(wobble, np.linspace(0, SIZE, 9), strict=True)]
    if not vertical:
        pts = [(y, x) for x, y in pts]
    d.line(pts, fill=COLOURS["blue"], width=34)
    if bridge:
        d.rectangle((0, 120, SIZE, 136) if vertical else (120, 0, 136, SIZE), fill=COLOURS["gray"])
    way = "from top to bottom" if vertical else "from left to right"
    extra = "and a bridge crosses it" if bridge else "with no bridge"
    return Scene(
        "river",
        _noise(img, rng),
        _captions(
            rng,
            [
                "a blue river runs {way} through the middle of {land} land",
                "a river goes {way} across {land} fields {extra}",
                "a winding river flows {way} {extra}",
                "the {land} land is cut by a river running {way}",
                "there is a river in the middle going {way}",
            ],
            way=way,
            land=land,
            extra=extra,
        ),
    )


def beach(rng: Rng) -> Scene:
    side = _pick(rng, SIDES)
    img = Image.new("RGB", (SIZE, SIZE), COLOURS["green"])
    d = ImageDraw.Draw(img)
    third = SIZE // 3
    sea = {
        "left": (0, 0, third, SIZE),
        "right": (SIZE - third, 0, SIZE, SIZE),
        "top": (0, 0, SIZE, third),
        "bottom": (0, SIZE - third, SIZE, SIZE),
    }[side]
    sand = {
        "left": (third, 0, third + 40, SIZE),
        "right": (SIZE - third - 40, 0, SIZE - third, SIZE),
        "top": (0, third, SIZE, third + 40),
        "bottom": (0, SIZE - third - 40, SIZE, SIZE - third),
    }[side]
    d.rectangle(sea, fill=COLOURS["blue"])
    d.rectangle(sand, fill=COLOURS["yellow"])
    opposite = {"left": "right", "right": "left", "top": "bottom", "bottom": "top"}[side]
    return Scene(
        "beach",
        _noise(img, rng, 8),
        _captions(
            rng,
            [
                "the sea is on the {side} and a yellow beach lies beside it",
                "a yellow beach between the blue sea on the {side} and green land on the {opposite}",
                "blue water on the {side} meets a strip of yellow sand",
                "a long beach with the ocean on the {side} of the image",
                "the ocean is on the {side} and green vegetation is on the {opposite}",
            ],
            side=side,
            opposite=opposite,
        ),
    )


def parking(rng: Rng) -> Scene:
    n, side, car = int(rng.integers(2, 9)), _pick(rng, SIDES), _pick(rng, ["red", "blue", "white", "yellow"])
    img = Image.new("RGB", (SIZE, SIZE), (104, 104, 104))
    d = ImageDraw.Draw(img)
    for x in range(10, SIZE, 24):  # parking lines
        d.line((x, 0, x, SIZE), fill=(190, 190, 190), width=1)
    for x, y in _place(n, _box_in(side), (14, 24), rng, gap=4):
        d.rectangle((x, y, x + 14, y + 24), fill=COLOURS[car])
    word = "car" if n == 1 else "cars"
    return Scene(
        "parking lot",
        _noise(img, rng, 6),
        _captions(
            rng,
            [
                "{n} {car} {word} are parked on the {side} of the parking lot",
                "a parking lot with {n} {car} {word} on the {side}",
                "there are {n} {car} {word} in the {side} part of a parking lot",
                "many parking spaces are empty and {n} {car} {word} park on the {side}",
                "{n} {car} {word} stand in a gray parking lot on the {side}",
            ],
            n=NUMBERS[n],
            car=car,
            word=word,
            side=side,
        ),
    )


def airport(rng: Rng) -> Scene:
    n, vertical = int(rng.integers(1, 5)), bool(rng.integers(2))
    side = _pick(rng, ["left", "right"] if vertical else ["top", "bottom"])
    img = Image.new("RGB", (SIZE, SIZE), (150, 160, 120))
    d = ImageDraw.Draw(img)
    d.rectangle((108, 0, 148, SIZE) if vertical else (0, 108, SIZE, 148), fill=(70, 70, 70))
    for t in range(8, SIZE, 32):  # centre line
        d.rectangle((126, t, 130, t + 14) if vertical else (t, 126, t + 14, 130), fill=COLOURS["white"])
    for x, y in _place(n, _box_in(side), (28, 28), rng, gap=10):
        d.rectangle((x + 11, y, x + 17, y + 28), fill=COLOURS["white"])  # fuselage
        d.rectangle((x, y + 10, x + 28, y + 16), fill=COLOURS["white"])  # wings
    orient = "vertical" if vertical else "horizontal"
    word = "plane" if n == 1 else "planes"
    return Scene(
        "airport",
        _noise(img, rng, 6),
        _captions(
            rng,
            [
                "{n} white {word} are parked on the {side} of a {orient} runway",
                "an airport with a {orient} runway and {n} {word} on the {side}",
                "{n} white {word} beside a long gray runway",
                "there are {n} {word} on the {side} of the airport runway",
                "a {orient} runway goes through the middle with {n} {word} on the {side}",
            ],
            n=NUMBERS[n],
            word=word,
            side=side,
            orient=orient,
        ),
    )


KINDS: dict[str, Callable[[Rng], Scene]] = {
    f.__name__: f
    for f in (dense_residential, sparse_residential, industrial, farmland, forest, river, beach, parking, airport)
}

# The hard variant's annotators: words each may use instead of the template's (same meaning).
SYNONYMS = {
    "many": ["lots of", "numerous", "plenty of"],
    "houses": ["homes", "residences", "buildings"],
    "buildings": ["structures", "constructions"],
    "large": ["big", "huge"],
    "big": ["large", "huge"],
    "road": ["street", "lane"],
    "cars": ["vehicles", "automobiles"],
    "car": ["vehicle", "automobile"],
    "planes": ["airplanes", "aircraft"],
    "plane": ["airplane", "aircraft"],
    "river": ["stream"],
    "sea": ["ocean"],
    "ocean": ["sea"],
    "image": ["picture", "scene"],
    "trees": ["woods"],
    "fields": ["plots"],
    "lawn": ["grass"],
    "runway": ["airstrip"],
    "factory": ["plant", "warehouse"],
    "forest": ["woodland"],
    "dense": ["thick", "crowded"],
}
VAGUE = [
    "an aerial image of {kind}",
    "this is {kind} seen from above",
    "{kind} in a remote sensing image",
    "it is {kind}",
    "the picture shows {kind}",
]
PLACES = {
    "dense residential": "a dense residential area",
    "sparse residential": "a sparse residential area",
    "industrial": "an industrial area",
    "farmland": "farmland",
    "forest": "a forest",
    "river": "a river",
    "beach": "a beach",
    "parking lot": "a parking lot",
    "airport": "an airport",
}
OPENINGS = ["in this image", "from above", "we can see that", "it is clear that", "in the picture"]


def _reword(caption: str, rng: Rng) -> str:
    """One annotator's version of a caption: some words swapped for synonyms, maybe an opening."""
    words = [_pick(rng, SYNONYMS[w]) if w in SYNONYMS and rng.random() < 0.5 else w for w in caption.split()]
    if rng.random() < 0.3:
        words = [_pick(rng, OPENINGS)] + words
    return " ".join(" ".join(words).split())


def _harden(s: Scene, rng: Rng) -> Scene:
    """The hard variant of a scene: distractors no caption mentions, uneven light, more grain,
    and reworded captions (one or two of the five only name the kind of scene)."""
    img = s.image.copy()
    d = ImageDraw.Draw(img, "RGBA")
    for _ in range(int(rng.integers(3, 9))):  # objects nobody mentions
        x, y = int(rng.integers(0, SIZE - 16)), int(rng.integers(0, SIZE - 16))
        what = int(rng.integers(4))
        if what == 0:  # a tree
            r = int(rng.integers(4, 9))
            d.ellipse((x, y, x + 2 * r, y + 2 * r), fill=(30, int(rng.integers(70, 110)), 36))
        elif what == 1:  # a shed
            d.rectangle(
                (x, y, x + int(rng.integers(8, 16)), y + int(rng.integers(8, 16))),
                fill=COLOURS[_pick(rng, ["gray", "brown", "white"])],
            )
        elif what == 2:  # a vehicle
            d.rectangle(
                (x, y, x + 9, y + 5) if rng.integers(2) else (x, y, x + 5, y + 9),
                fill=COLOURS[_pick(rng, ["red", "blue", "white", "yellow"])],
            )
        else:  # a cloud's shadow
            w, h = int(rng.integers(30, 90)), int(rng.integers(20, 60))
            d.ellipse((x - w // 2, y - h // 2, x + w // 2, y + h // 2), fill=(0, 0, 0, int(rng.integers(40, 90))))
    a = np.asarray(img, dtype=np.float32)
    ramp = np.linspace(-1, 1, SIZE, dtype=np.float32)
    gx, gy = rng.normal(0, 18, size=2)
    light = ramp[None, :, None] * gx + ramp[:, None, None] * gy  # uneven lighting
    a = a * rng.normal(1, 0.08, size=(1, 1, 3)).astype(np.float32) + light  # and a colour cast
    a = a + rng.normal(0, 9, size=a.shape)  # grain
    img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    captions = [_reword(c, rng) for c in s.captions]
    for i in rng.choice(5, size=int(rng.integers(1, 3)), replace=False):
        captions[i] = _pick(rng, VAGUE).format(kind=PLACES[s.kind])
    return Scene(s.kind, img, captions)


def scene(index: int, seed: int, hard: bool = False) -> Scene:
    """Image ``index`` (0-based) of the set: the kinds take turns, the details are random; the
    hard variant's changes are drawn from a generator of their own, so its scenes are the
    standard ones, made harder."""
    rng = np.random.default_rng([seed, index])
    kinds = list(KINDS.values())
    s = kinds[index % len(kinds)](rng)
    return _harden(s, np.random.default_rng([seed, index, 1])) if hard else s


def splits_for(n: int, seed: int, test_first: tuple[str, ...] = ()) -> list[str]:
    """About 80/10/10 train/val/test, fixed by ``seed``; filenames in ``test_first`` are test."""
    order = np.random.default_rng([seed, 10**6]).permutation(n)
    split = ["train"] * n
    n_val = n_test = max(1, n // 10)
    forced = [int(f.split(".")[0]) - 1 for f in test_first if f.split(".")[0].isdigit() and int(f.split(".")[0]) <= n]
    rest = [i for i in order if i not in forced]
    for i in forced + rest[: max(0, n_test - len(forced))]:
        split[i] = "test"
    for i in [i for i in rest if split[i] == "train"][:n_val]:
        split[i] = "val"
    return split


def generate(out_dir: Path, n: int = 600, seed: int = 0, test_images: tuple[str, ...] = (), hard: bool = False) -> dict:
    """Write ``images.zip`` (``1.tif`` … ``n.tif``) and ``dataset.json`` into ``out_dir``; the
    hard variant with ``hard``.

    Returns counts per split and per kind.
    """
    if n < 9:
        raise ValueError(f"the synthetic set needs at least 9 images (one per kind), not {n}")
    out_dir = Path(out_dir)
    splits = splits_for(n, seed, test_images)
    images: list[dict] = []
    kinds: dict[str, int] = {}
    sentid = 0
    with atomic_path(out_dir / "images.zip") as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
        for i in tqdm(range(n), desc="synthetic images", unit="image", leave=False, disable=None):
            s = scene(i, seed, hard)
            buf = io.BytesIO()
            s.image.save(buf, format="TIFF", compression="tiff_adobe_deflate")
            name = f"{i + 1}.tif"
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # fixed: same seed, same bytes
            zf.writestr(info, buf.getvalue())
            sentences = []
            for text in s.captions:
                sentences.append(
                    {"raw": text[0].upper() + text[1:] + " .", "tokens": text.split(), "imgid": i, "sentid": sentid}
                )
                sentid += 1
            images.append(
                {
                    "filename": name,
                    "imgid": i,
                    "split": splits[i],
                    "kind": s.kind,
                    "sentids": [x["sentid"] for x in sentences],
                    "sentences": sentences,
                }
            )
            kinds[s.kind] = kinds.get(s.kind, 0) + 1
    with atomic_path(out_dir / "dataset.json") as tmp:
        tmp.write_text(
            json.dumps({"images": images, "dataset": "synthetic (hard)" if hard else "synthetic"}, indent=1),
            encoding="utf-8",
        )
    return {"images": n, "splits": {k: splits.count(k) for k in ("train", "val", "test")}, "kinds": kinds}
