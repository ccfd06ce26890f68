"""Stage download_fashion_mnist: find and verify the four IDX files, split, save one .npz."""

from _stage import PATHS, ROOT, stage

from hw2.fashion.data import load_fashion_mnist, save_splits

OUT = PATHS.fashion_mnist


@stage
def main(params):
    src = params.fashion_mnist
    raw = load_fashion_mnist(src.source, ROOT / src.local_dir, src.url)
    counts = save_splits(OUT, raw, params.cnn.dev_size, params.cnn.seed)
    print(
        f"Fashion-MNIST from {raw.source}: SHA-256 verified; "
        f"train {counts['train']:,}, validation {counts['val']:,}, test {counts['test']:,} → {OUT.relative_to(ROOT)}"
    )


if __name__ == "__main__":
    main()
