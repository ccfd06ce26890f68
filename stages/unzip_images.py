"""Stage unzip_images: the user's caption set (or the synthetic demo set) into data/images/."""

import sys
from typing import Any

from _stage import PATHS, ROOT, WORK, queued_from, stage, warn

from hw2.captioning.dataset import find_inputs, load_caption_set, save_caption_set
from hw2.captioning.figures import contact_sheet, no_glyph_warning
from hw2.captioning.images import Rendering
from hw2.captioning.splits import thin_validation, with_validation
from hw2.captioning.synthetic import generate
from hw2.captioning.unzip import extract_images
from hw2.common.atomic import scratch_dir, write_json
from hw2.common.checksum import file_sha256
from hw2.common.errors import InputError

IMAGES = PATHS.images
CAPTIONS = PATHS.captions
METRICS = PATHS.dataset_metrics
SHEET = PATHS.samples
SYNTHETIC_NOTICE = (
    "NOTICE: no images.zip and captions .json in {folder}: using the SYNTHETIC demo set "
    "({n} generated scenes). Its numbers show that the pipeline works; they are not results "
    "on real imagery. See {folder}/README.md to run on a real caption set."
)


@stage
def main(params):
    cap = params.captioning
    folder = ROOT / cap.data
    if not folder.is_dir():
        raise InputError(
            f"params.yaml: captioning.data: {cap.data} is not a folder (create it and put the caption "
            "set in it, or set the key back to data/raw_dataset)"
        )
    inputs = find_inputs(folder)
    origin = queued_from()
    if inputs is None and origin is not None and find_inputs(origin / cap.data) is not None:
        raise InputError(
            f"{cap.data}: the workspace this experiment was queued from holds a caption set there that "
            f"neither Git nor DVC tracks, so DVC did not copy it here and the run would silently use the "
            f"synthetic set instead: track it with `dvc add {cap.data}/<zip> {cap.data}/<json>` and "
            f"commit the .dvc files (data/raw_dataset/README.md)"
        )
    # the synthetic set's zip and JSON while they are made (one left by a killed run goes first)
    with scratch_dir(WORK.partial / ".synthetic.partial") as work:
        if inputs is None:
            n = cap.synthetic.images
            outside = [name for name in cap.images if name not in {f"{k}.tif" for k in range(1, n + 1)}]
            if outside:
                raise InputError(
                    f"params.yaml: captioning.images names {', '.join(outside)}, not in the synthetic "
                    f"set of captioning.synthetic.images = {n} (1.tif … {n}.tif)"
                )
            print(SYNTHETIC_NOTICE.format(folder=cap.data, n=n), file=sys.stderr)
            generate(work, n=n, seed=cap.synthetic.seed, test_images=tuple(cap.images), hard=cap.synthetic.hard)
            zip_path, json_path = work / "images.zip", work / "dataset.json"
            source: dict[str, Any] = {
                "dataset": "synthetic (hard)" if cap.synthetic.hard else "synthetic",
                "synthetic": True,
            }
        else:
            zip_path, json_path = inputs
            source = {
                "dataset": None,
                "synthetic": False,
                "inputs": {p.name: file_sha256(p) for p in (zip_path, json_path)},
            }
        # a set without a val split gets one from its training images, before any work (splits.py)
        captions, held_out = with_validation(load_caption_set(json_path), json_path)
        thin = thin_validation(captions, json_path)  # said at the end, once the set is known good
        known = {im.filename for im in captions.images}
        outside = [name for name in cap.images if name not in known]
        if outside:
            raise InputError(
                f"params.yaml: captioning.images names {', '.join(outside)}, not in {json_path.name} "
                f"({len(known):,} images, e.g. {captions.images[0].filename})"
            )
        source["dataset"] = source["dataset"] or captions.name
        rendering = Rendering(**cap.imagery.model_dump())
        extracted = extract_images(
            zip_path,
            IMAGES,
            [im.filename for im in captions.images],
            max_image_bytes=int(cap.unzip.max_image_mb * 2**20),
            max_total_bytes=int(cap.unzip.max_total_mb * 2**20),
            max_megapixels=cap.unzip.max_megapixels,
            rendering=rendering,
        )
    save_caption_set(CAPTIONS, captions)
    missing = contact_sheet(SHEET, IMAGES, captions, rendering=rendering)
    if missing:
        warn(no_glyph_warning(missing))
    counts = captions.counts()
    write_json(
        METRICS,
        {
            **source,
            "images": counts,
            "captions": sum(len(im.captions) for im in captions.images),
            "imagery": {**cap.imagery.model_dump(), "read_as": extracted.read_as},  # how the images became RGB
            **({"val_held_out": held_out.record()} if held_out else {}),  # the set had no val split
        },
    )
    if thin:
        warn(thin)
    extra = extracted.skipped
    note = f"; {len(extra)} image(s) in the zip without captions were skipped" if extra else ""
    if held_out:
        note += (
            f"; no val split in {json_path.name}: {held_out.images} of the {held_out.of_train:,} training images "
            f"held out for validation ({held_out.share:.0%}, seed {held_out.seed})"
        )
    print(
        f"{source['dataset']}: {len(captions.images):,} images extracted to {IMAGES.relative_to(ROOT)} "
        f"(train {counts['train']:,}, val {counts['val']:,}, test {counts['test']:,}){note}"
    )


if __name__ == "__main__":
    main()
