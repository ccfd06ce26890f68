"""Corpus scores of captions against their references: BLEU-1..4 with nltk's ``corpus_bleu`` (the
homework's metric) and METEOR, ROUGE-L and CIDEr(-D) with ``pycocoevalcap`` (the coco-caption code
that the remote-sensing captioning papers report; METEOR runs its bundled Java jar).

Hypotheses and references are token lists (or token ids). References are the dataset's own tokens
(lower-cased, punctuation dropped by ``dataset.tokenize``), not the vocabulary's, so a word the
vocabulary maps to <unk> still counts against the model. coco-caption's PTB tokenizer is not run:
it would only split punctuation, which the tokens no longer have.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Sequence

from nltk.translate.bleu_score import corpus_bleu

BLEU_ORDERS = {f"bleu{n}": n for n in range(1, 5)}
# A caption "names a position" when it places something on a side of the image: "the" followed by
# one of these ("on the left", "at the top of"); "from left to right" is a direction, not a place.
SIDE_WORDS = frozenset({"left", "right", "top", "bottom", "upper", "lower"})
EMPTY = "xxemptyxx"  # stands for an empty caption where coco-caption's scorers need a word


def bleu(references: Sequence[Sequence[Sequence]], hypotheses: Sequence[Sequence], n: int = 4) -> float:
    """Corpus BLEU-``n`` (uniform weights over 1..n-grams) of one hypothesis per image against all
    of that image's references; 0 when no ``n``-gram matches (nltk's warning about it is dropped)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return float(corpus_bleu(references, hypotheses, weights=tuple([1.0 / n] * n)))


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
            self.meteor_missing = (
                "METEOR needs Java (java not found on PATH; on Debian or Ubuntu: "
                "apt-get install default-jre-headless); it is left out"
            )
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
        scores: dict[str, float | None] = {k: bleu(references, hypotheses, n) for k, n in BLEU_ORDERS.items()}
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
    return any(a == "the" and b in SIDE_WORDS for c in captions for a, b in zip(c, c[1:], strict=False))
