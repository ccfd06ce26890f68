"""Stage unzip_images: the user's caption set (or the synthetic demo set) into data/images/."""
import sys
import tempfile
from pathlib import Path

from _stage import ROOT, load_params, queued_from, stage

from hw2.captioning.dataset import find_inputs, load_caption_set
from hw2.captioning.figures import contact_sheet
from hw2.captioning.synthetic import generate
from hw2.captioning.unzip import extract_images
from hw2.common.atomic import write_json
from hw2.common.checksum import file_sha256
from hw2.common.errors import InputError
from hw2.common.params import positive_int

IMAGES = ROOT / "data" / "images"
CAPTIONS = ROOT / "data" / "captions.json"
METRICS = ROOT / "metrics" / "dataset.json"
SHEET = ROOT / "plots" / "captioning" / "samples.png"
SYNTHETIC_NOTICE = ("NOTICE: no images.zip and captions .json in {folder}: using the SYNTHETIC demo set "
                    "({n} generated scenes). Its numbers show that the pipeline works; they are not results "
                    "on real imagery. See {folder}/README.md to run on a real caption set.")


@stage
def main():
    cap = load_params()["captioning"]
    folder = ROOT / cap["data"]
    with tempfile.TemporaryDirectory() as tmp:
        inputs = find_inputs(folder)
        origin = queued_from()
        if inputs is None and origin is not None and find_inputs(origin / cap["data"]) is not None:
            raise InputError(
                f"{cap['data']}: the workspace this experiment was queued from holds a caption set there that "
                f"neither Git nor DVC tracks, so DVC did not copy it here and the run would silently use the "
                f"synthetic set instead: track it with `dvc add {cap['data']}/<zip> {cap['data']}/<json>` and "
                f"commit the .dvc files (data/raw_dataset/README.md)")
        if inputs is None:
            syn = cap["synthetic"]
            n = positive_int(syn["images"], "captioning.synthetic.images", minimum=9)
            print(SYNTHETIC_NOTICE.format(folder=cap["data"], n=n), file=sys.stderr)
            generate(Path(tmp), n=n, seed=positive_int(syn["seed"], "captioning.synthetic.seed", minimum=0),
                     test_images=tuple(cap.get("images") or ()))
            zip_path, json_path = Path(tmp) / "images.zip", Path(tmp) / "dataset.json"
            source = {"dataset": "synthetic", "synthetic": True}
        else:
            zip_path, json_path = inputs
            source = {"dataset": None, "synthetic": False,
                      "inputs": {p.name: file_sha256(p) for p in (zip_path, json_path)}}
        captions = load_caption_set(json_path)
        source["dataset"] = source["dataset"] or captions.name
        extra = extract_images(zip_path, IMAGES, [im.filename for im in captions.images])
    write_json(CAPTIONS, {"dataset": captions.name, "images": [
        {"filename": im.filename, "split": im.split, "sentences": [{"tokens": c} for c in im.captions]}
        for im in captions.images]})
    contact_sheet(SHEET, IMAGES, captions)
    counts = captions.counts()
    write_json(METRICS, {**source, "images": counts, "captions": sum(len(im.captions) for im in captions.images)})
    note = f"; {len(extra)} image(s) in the zip without captions were skipped" if extra else ""
    print(f"{source['dataset']}: {len(captions.images):,} images extracted to {IMAGES.relative_to(ROOT)} "
          f"(train {counts['train']:,}, val {counts['val']:,}, test {counts['test']:,}){note}")


if __name__ == "__main__":
    main()
