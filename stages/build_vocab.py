"""Stage build_vocab: the training captions' vocabulary and every caption encoded with it."""

from _stage import PATHS, ROOT, stage, warn

from hw2.captioning.dataset import load_caption_set
from hw2.captioning.encoded import save_encoded
from hw2.captioning.vocab import build_vocabulary, save_vocabulary, too_long

CAPTIONS = PATHS.captions
OUT = PATHS.vocab


@stage
def main(params):
    voc = params.captioning.vocab
    min_freq = voc.min_freq
    captions = load_caption_set(CAPTIONS)
    vocab, counts = build_vocabulary(captions, min_freq, voc.max_length)
    cut = too_long(captions, vocab.max_length)
    if cut:
        rule = "captioning.vocab.max_length" if voc.max_length else "the longest usual training caption"
        warn(
            f"{len(cut):,} caption(s) longer than {vocab.max_length} words ({rule}) are cut to it; the longest, "
            f"of {cut[0][0]} in {CAPTIONS.relative_to(ROOT)}, has {cut[0][1]:,} words"
        )
    save_encoded(OUT / "captions.npz", vocab, captions)
    stats = save_vocabulary(OUT / "vocab.json", vocab, captions, counts, min_freq)
    print(
        f"vocabulary of {stats['vocab_size']:,} tokens (min_freq {min_freq}, covers {stats['train_coverage']:.1%} "
        f"of training words), {stats['captions']:,} captions of at most {stats['max_length']} words "
        f"→ {OUT.relative_to(ROOT)}/vocab.json, captions.npz"
    )


if __name__ == "__main__":
    main()
