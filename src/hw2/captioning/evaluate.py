"""Test-split captions and their scores: BLEU-1..4 with nltk's ``corpus_bleu`` (the homework's
metric) and METEOR, ROUGE-L and CIDEr(-D) with ``pycocoevalcap`` (the coco-caption code that the
remote-sensing captioning papers report; METEOR runs its bundled Java jar).

Hypotheses and references are token lists. References are the dataset's own tokens (lower-cased,
punctuation dropped by ``dataset.tokenize``), not the vocabulary's, so a word the vocabulary maps
to <unk> still counts against the model. coco-caption's PTB tokenizer is not run: it would only
split punctuation, which the tokens no longer have.
"""
from __future__ import annotations

import shutil
import warnings
from collections import Counter
from dataclasses import dataclass

import torch
from nltk.translate.bleu_score import corpus_bleu
from tqdm import tqdm

from .dataset import CaptionSet
from .models import beam_search, greedy_decode
from .vocab import END, START, Vocabulary

BLEU_WEIGHTS = {f"bleu{n}": tuple([1.0 / n] * n) for n in range(1, 5)}
# A caption "names a position" when it places something on a side of the image: "the" followed by
# one of these ("on the left", "at the top of"); "from left to right" is a direction, not a place.
SIDE_WORDS = frozenset({"left", "right", "top", "bottom", "upper", "lower"})
EMPTY = "xxemptyxx"  # stands for an empty caption where coco-caption's scorers need a word


@dataclass
class EvalImages:
    names: list[str]                      # image file names, in the feature file's order
    rows: list[int]                       # their rows in the feature file
    references: list[list[list[str]]]     # every reference caption of each image, as tokens


def eval_images(captions: CaptionSet, feature_names: list[str], split: str = "test") -> EvalImages:
    """The images of ``split`` with their references, located in the feature file."""
    row = {n: i for i, n in enumerate(feature_names)}
    picked = captions.split(split)
    missing = [im.filename for im in picked if im.filename not in row]
    if missing:
        raise ValueError(f"{len(missing)} {split} image(s) have no features, e.g. {missing[0]}: "
                         "the feature file comes from another run; run `dvc repro` again")
    return EvalImages([im.filename for im in picked], [row[im.filename] for im in picked],
                   [im.captions for im in picked])


@torch.no_grad()
def caption_images(model, features: torch.Tensor, vocab: Vocabulary, beam_size: int | None,
                   max_length: int = 0, batch: int = 64, progress: str | None = None) -> list[list[str]]:
    """Captions (words, no special tokens) of the images ``features`` (N, R, E): greedy decoding
    when ``beam_size`` is None, else beam search with that beam; at most ``max_length`` words
    (0: the vocabulary's longest training caption). ``progress``: the label of a progress bar over
    the images, shown on a terminal only."""
    model.eval()
    device = next(model.parameters()).device
    start, end = vocab.stoi[START], vocab.stoi[END]
    max_length = max_length or vocab.max_length
    out = []
    if beam_size is None:
        for i in tqdm(range(0, len(features), batch), desc=progress, unit="batch", leave=False,
                      disable=None if progress else True):
            words, _ = greedy_decode(model, features[i:i + batch].to(device).float(), start, end, max_length)
            out += [vocab.decode(w) for w in words.tolist()]
    else:
        for f in tqdm(features, desc=progress, unit="image", leave=False, disable=None if progress else True):
            ids, _ = beam_search(model, f.to(device).float(), start, end, max_length, beam_size)
            out.append(vocab.decode(ids))
    return out


def java_available() -> bool:
    return shutil.which("java") is not None


class Scorer:
    """Scores caption sets; holds one METEOR process (Java) for all of them. Use as a context
    manager. Without Java, METEOR is None and ``meteor_missing`` says why."""

    def __init__(self, meteor: bool = True):
        self._meteor = None
        self.meteor_missing = None
        if not meteor:
            self.meteor_missing = "METEOR not asked for"
        elif not java_available():
            self.meteor_missing = ("METEOR needs Java (java not found on PATH; on Debian or Ubuntu: "
                                   "apt-get install default-jre-headless); it is left out")
        else:
            from pycocoevalcap.meteor.meteor import Meteor
            self._meteor = Meteor()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self._meteor is not None:
            p = self._meteor.meteor_p
            p.stdin.close()
            p.kill()
            p.wait()
            self._meteor = None

    def score(self, hypotheses: list[list[str]], references: list[list[list[str]]]) -> dict[str, float | None]:
        """Corpus scores of one caption per image against all of that image's references."""
        if len(hypotheses) != len(references) or not hypotheses:
            raise ValueError(f"{len(hypotheses)} captions for {len(references)} images")
        with warnings.catch_warnings():  # nltk warns when no n-gram of an order matches: that BLEU is 0
            warnings.simplefilter("ignore", UserWarning)
            scores = {k: float(corpus_bleu(references, hypotheses, weights=w)) for k, w in BLEU_WEIGHTS.items()}
        from pycocoevalcap.cider.cider import Cider
        from pycocoevalcap.rouge.rouge import Rouge
        res = {i: [" ".join(h) or EMPTY] for i, h in enumerate(hypotheses)}
        gts = {i: [" ".join(r) for r in refs] for i, refs in enumerate(references)}
        scores["meteor"] = float(self._meteor.compute_score(gts, res)[0]) if self._meteor is not None else None
        scores["rouge_l"] = float(Rouge().compute_score(gts, res)[0])
        scores["cider"] = float(Cider().compute_score(gts, res)[0])
        # six decimals: enough to compare runs, and nltk's "zero" BLEU (1e-79 and the like) reads as 0
        return {k: None if v is None else round(v, 6) for k, v in scores.items()}


def names_position(captions: list[list[str]]) -> bool:
    """Whether any of these captions places something on a side of the image."""
    return any(a == "the" and b in SIDE_WORDS for c in captions for a, b in zip(c, c[1:]))


def most_common_caption(captions: CaptionSet, split: str = "train") -> list[str]:
    """The caption-prior baseline: the training caption written most often (ties: the first in
    sorted order, so the choice is deterministic)."""
    counts = Counter(tuple(c) for im in captions.split(split) for c in im.captions)
    if not counts:
        raise ValueError(f"no {split} captions to take the most common one from")
    top = max(counts.values())
    return list(min(c for c, n in counts.items() if n == top))


def load_decoder(path, vocab: Vocabulary, encoder_dim: int, device: torch.device | str = "cpu"):
    """A decoder saved by train_captioner, checked against the vocabulary it will decode with,
    on ``device``."""
    from ..common.checkpoint import load_checkpoint
    from ..common.errors import InputError
    from .train import CaptionTrainConfig, build_model
    state = load_checkpoint(path)
    try:
        cfg = CaptionTrainConfig(**state["config"])
        if state["vocab_size"] != len(vocab):
            raise InputError(f"{path}: trained with a vocabulary of {state['vocab_size']} words, not the "
                             f"{len(vocab)} of data/vocab (files from different runs); run `dvc repro` again")
        model = build_model(cfg, len(vocab), encoder_dim)
        model.load_state_dict(state["state_dict"])
    except (KeyError, TypeError, RuntimeError) as exc:
        raise InputError(f"{path}: not a caption decoder written by train_captioner ({exc})") from None
    return model.to(device).eval(), state
