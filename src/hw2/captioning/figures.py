"""Pictures of the captioning data: a contact sheet of images with one of their captions, an
image captioned beside its attention maps, a sheet of captioned images.

Captions are drawn as written, in any script: matplotlib's default font (DejaVu Sans, which has
Latin, Greek and Cyrillic) first, then, for the characters it lacks, the first installed font of
``WIDE_FONTS`` that has them (Chinese, Japanese, Korean: Debian's fonts-noto-cjk). Where no font has
a character it is drawn as a box: :func:`missing_glyphs` names such characters, for the caller to say
so once (matplotlib's own warning, one per character and figure, is silenced).
"""

from __future__ import annotations

import functools
import textwrap
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font
from PIL import Image

from ..common.plotting import plt, save_figure
from .dataset import CaptionSet
from .images import DEFAULT_RENDERING, Rendering, load_rgb

# fonts with the characters of Chinese, Japanese and Korean captions, in order of preference
# (Debian packages: fonts-noto-cjk, fonts-wqy-zenhei, fonts-droid-fallback)
WIDE_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
    "Noto Sans CJK KR",
    "WenQuanYi Zen Hei",
    "Droid Sans Fallback",
)
FONT_HINT = (
    "on Debian or Ubuntu: sudo apt-get install fonts-noto-cjk, which make repro and make test run where apt works"
)


@functools.cache
def _charmap(family: str | None) -> frozenset[int]:
    """The characters the font of ``family`` has (None: matplotlib's default font); empty when the
    machine has no font of that family."""
    props = font_manager.FontProperties() if family is None else font_manager.FontProperties(family=family)
    try:
        path = font_manager.findfont(props, fallback_to_default=False)
    except ValueError:
        return frozenset()
    font = FT2Font(path)
    if family is not None and font.family_name != family:  # a near match, not the font asked for
        return frozenset()
    return frozenset(font.get_charmap())


@functools.cache
def _system_fonts_added() -> None:
    """The machine's font files that matplotlib's font cache (made when it was first imported) does not
    list: a font installed since (apt-get install fonts-noto-cjk) is otherwise not seen."""
    known = {entry.fname for entry in font_manager.fontManager.ttflist}
    for path in font_manager.findSystemFonts():
        if path not in known:
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):  # a file FreeType cannot read
                continue


@functools.cache
def _fonts() -> tuple[list[str], frozenset[int]]:
    """The font families captions are drawn with (the default font's, then each installed wide
    font) and every character they have between them: found once per process."""
    default = FT2Font(font_manager.findfont(font_manager.FontProperties())).family_name
    if not any(_charmap(f) for f in WIDE_FONTS):
        _system_fonts_added()
        _charmap.cache_clear()
    wide = [f for f in WIDE_FONTS if _charmap(f)]
    return [default, *wide], _charmap(None).union(*(_charmap(f) for f in wide))


def caption_fonts() -> list[str]:
    """The font families captions are drawn with: the default font's, then each installed wide font."""
    return list(_fonts()[0])


def no_glyph_warning(missing: str) -> str:
    """What to say, once, when captions have characters no installed font has."""
    return (
        f"no font on this machine has the characters {' '.join(missing)}: the figures draw them as boxes ({FONT_HINT})"
    )


def missing_glyphs(texts: Iterable[str]) -> str:
    """The characters of ``texts`` that no font of :func:`caption_fonts` has (they would be drawn as
    boxes), each once, in order of appearance; "" when every character has a glyph."""
    have = _fonts()[1]
    return "".join(dict.fromkeys(c for t in texts for c in t if not c.isspace() and ord(c) not in have))


def _with_caption_fonts(draw):
    """``draw`` (a figure function) with :func:`caption_fonts`, without matplotlib's warning per
    missing glyph (the figure functions return the missing characters instead)."""

    @functools.wraps(draw)
    def drawn(*args, **kwargs):
        with plt.rc_context({"font.family": caption_fonts()}), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Glyph .* missing from font", category=UserWarning)
            return draw(*args, **kwargs)

    return drawn


@_with_caption_fonts
def contact_sheet(
    path: Path,
    images_dir: Path,
    captions: CaptionSet,
    n: int = 9,
    columns: int = 3,
    rendering: Rendering = DEFAULT_RENDERING,
) -> str:
    """The first ``n`` images (in the synthetic set, one of each kind), each with its first
    caption beneath it. Returns the characters drawn as boxes (:func:`missing_glyphs`)."""
    picks = captions.images[:n]
    rows = -(-len(picks) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.9 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, im in zip(axes.flat, picks, strict=False):
        ax.imshow(load_rgb(Path(images_dir) / im.filename, rendering=rendering))
        text = f"{im.filename}: " + " ".join(im.captions[0])
        ax.text(
            0.5, -0.03, "\n".join(textwrap.wrap(text, 34)), transform=ax.transAxes, ha="center", va="top", fontsize=10
        )
    fig.suptitle(f"{captions.name}: sample images and captions", fontsize=11)
    fig.subplots_adjust(left=0.02, right=0.98, top=0.95, bottom=0.05, wspace=0.06, hspace=0.32)
    # 80 dpi: each 3.2-inch panel 256 pixels, a 256-pixel tile at its own size (under 1 MB in git)
    save_figure(fig, path, dpi=80)
    return missing_glyphs([captions.name] + [" ".join(im.captions[0]) for im in picks])


def _show_image(ax, img: Image.Image) -> None:
    ax.imshow(img)
    ax.set(xticks=[], yticks=[])


@_with_caption_fonts
def captioned_image(
    path: Path,
    image_path: Path,
    tokens: list[str],
    alphas: np.ndarray,
    title: str,
    per_row: int = 6,
    rendering: Rendering = DEFAULT_RENDERING,
) -> str:
    """The image and its caption, then one attention map per decoding step (``tokens``, the words
    and the final ``<end>``; ``alphas`` (len(tokens), regions)): the image in grey under the
    weights (smoothed from the region grid up to the image's size), every map on one scale from 0
    to the caption's largest weight, with a colorbar, so a diffuse map reads as diffuse. Returns the
    characters drawn as boxes (:func:`missing_glyphs`)."""
    img = load_rgb(image_path, rendering=rendering)
    grey = np.asarray(img.convert("L"), np.float32) / 255
    side = int(round(alphas.shape[1] ** 0.5))
    top = float(alphas.max()) or 1.0
    rows = -(-len(tokens) // per_row)
    fig = plt.figure(figsize=(1.9 * per_row + 0.8, 2.5 + 2.0 * rows))
    grid = fig.add_gridspec(
        1 + rows,
        per_row + 1,
        height_ratios=[1.25] + [1.0] * rows,
        width_ratios=[1.0] * per_row + [0.08],
        hspace=0.3,
        wspace=0.06,
        top=0.93,
        bottom=0.02,
        left=0.01,
        right=0.93,
    )
    _show_image(fig.add_subplot(grid[0, :2]), img)
    text = fig.add_subplot(grid[0, 2:per_row])
    text.axis("off")
    words = [t for t in tokens if t != "<end>"]
    text.text(
        0.0,
        0.5,
        "\n".join(textwrap.wrap(" ".join(words) or "(empty caption)", 46)),
        fontsize=13,
        va="center",
        ha="left",
        transform=text.transAxes,
    )
    shown = None
    for k, token in enumerate(tokens):
        ax = fig.add_subplot(grid[1 + k // per_row, k % per_row])
        weights = Image.fromarray(alphas[k].reshape(side, side).astype(np.float32), mode="F")
        ax.imshow(grey, cmap="gray", vmin=0, vmax=1)
        shown = ax.imshow(
            np.asarray(weights.resize(img.size, Image.Resampling.BILINEAR)),
            cmap="viridis",
            vmin=0,
            vmax=top,
            alpha=0.6,
            extent=(-0.5, img.size[0] - 0.5, img.size[1] - 0.5, -0.5),
        )
        ax.set(xticks=[], yticks=[])
        ax.set_title(token, fontsize=10)
    assert shown is not None  # one map a step at least: the final <end>
    bar = fig.add_subplot(grid[1:, per_row])
    fig.colorbar(shown, cax=bar).set_label(f"attention weight (uniform: {1 / alphas.shape[1]:.3f})", fontsize=8)
    bar.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=11)
    save_figure(fig, path, dpi=150)  # full colour: a palette would band the scale and shift the scene's colours
    return missing_glyphs([title, *tokens])


@_with_caption_fonts
def caption_sheet(
    path: Path, items: list[tuple[Path, str, str]], title: str, rendering: Rendering = DEFAULT_RENDERING
) -> str:
    """Each image (path, name, caption) with its caption beside it, one row per image. Returns the
    characters drawn as boxes (:func:`missing_glyphs`)."""
    fig, axes = plt.subplots(
        len(items),
        2,
        figsize=(6.4, 2.3 * len(items) + 0.4),
        squeeze=False,
        gridspec_kw={"width_ratios": [1, 1.7], "wspace": 0.06, "hspace": 0.12},
    )
    for (image_path, name, caption), (ax, text) in zip(items, axes, strict=True):
        _show_image(ax, load_rgb(image_path, rendering=rendering))
        text.axis("off")
        text.text(
            0.0,
            0.5,
            f"{name}\n" + "\n".join(textwrap.wrap(caption or "(empty caption)", 30)),
            fontsize=12,
            va="center",
            ha="left",
            transform=text.transAxes,
        )
    fig.suptitle(title, fontsize=12)
    fig.subplots_adjust(left=0.01, right=0.99, top=1 - 0.45 / (2.3 * len(items) + 0.4), bottom=0.01)
    save_figure(fig, path, dpi=150)
    return missing_glyphs([title] + [f"{name} {caption}" for _, name, caption in items])
