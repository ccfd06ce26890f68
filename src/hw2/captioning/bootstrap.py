"""How sure a difference between two decoders is: paired bootstrap resampling over the test images
(Koehn 2004, "Statistical significance tests for machine translation evaluation"), and over the
seeds and the test images together (the "pigeonhole" bootstrap of a crossed design, Owen 2007,
"The pigeonhole bootstrap", Annals of Applied Statistics 1(2)).

A draw takes the test images with replacement (the same draw for both decoders: paired) and, for
the pooled test, the seeds with replacement as well; each decoder's *corpus* scores are computed
again on the drawn images, exactly as :class:`scoring.Scorer` computes them on all of them:

- BLEU-4 is nltk's ``corpus_bleu`` (uniform weights, no smoothing): its clipped n-gram matches,
  n-gram totals, hypothesis and closest reference lengths are integers summed over the images, so
  a draw's BLEU-4 is the image-by-image counts weighted by how often the draw took each image.
- CIDEr is coco-caption's (``pycocoevalcap``; CIDEr-D: clipped, with the Gaussian length penalty).
  Its n-gram weights come from document frequencies over the *scored* images' references, so they
  change with the draw: an image drawn twice counts twice, as it would in a list handed to
  ``Cider().compute_score``. With ``w = (log N - log max(1, df))**2`` each term of its cosine
  similarities is a sum over n-grams of an integer times ``w``; a draw's document frequencies are
  integer sums and ``w`` a lookup in a table of N + 1 values, so every draw is a few array
  gathers and sums (``bench/bootstrap.py`` measures it against scoring each draw with the Scorer).

Everything is float64 with sums in a fixed order and no BLAS, so the same draws give the same
bytes on every CPU; the identity draw (every image once) gives the Scorer's scores (tested).

Why not ``scipy.stats.bootstrap`` or ``sacrebleu --paired-bs``: sacrebleu scores its own BLEU (its
tokeniser, no CIDEr), not the numbers the report shows; scipy's resamples one level of
observations with a statistic of per-observation values, while corpus BLEU and CIDEr are not
means over images (CIDEr's weights depend on the whole draw) and the pooled test resamples two
crossed levels, seeds and images.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from dataclasses import dataclass

import numpy as np

from .scoring import EMPTY

SCORES = ("bleu4", "cider")
SIGMA = 6.0  # coco-caption CIDEr-D's length penalty width
CHUNK = 200  # draws scored at once (memory: CHUNK x n-grams of float64)

Tokens = list[str]


@dataclass(frozen=True)
class Draws:
    images: np.ndarray  # (draws, images) int64: how many times each test image is in each draw
    seeds: np.ndarray  # (draws, seeds) int64: the seeds (their positions) each draw takes


def draw(n_images: int, n_seeds: int, draws: int, seed: int) -> Draws:
    """``draws`` resamples of ``n_images`` test images and of ``n_seeds`` seeds, each with
    replacement, from numpy's PCG64 generator seeded with ``seed`` (the same on every machine)."""
    if n_images < 1 or n_seeds < 1 or draws < 1:
        raise ValueError(f"nothing to resample: {n_images} image(s), {n_seeds} seed(s), {draws} draw(s)")
    rng = np.random.default_rng(seed)
    picked = rng.integers(0, n_images, size=(draws, n_images))
    counts = np.zeros((draws, n_images), dtype=np.int64)
    np.add.at(counts, (np.arange(draws)[:, None], picked), 1)
    return Draws(counts, rng.integers(0, n_seeds, size=(draws, n_seeds)))


def _ngrams(tokens: Tokens, n: int) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def bleu_counts(hypothesis: Tokens, references: list[Tokens]) -> list[int]:
    """nltk's corpus-BLEU statistics of one image: the clipped 1..4-gram matches, the 1..4-gram
    totals (at least 1 each, as nltk's ``modified_precision``), the hypothesis length and the
    closest reference length (ties: the shorter)."""
    matches, totals = [], []
    for n in range(1, 5):
        counts = _ngrams(hypothesis, n)
        best: Counter = Counter()
        for ref in references:
            for gram, k in _ngrams(ref, n).items():
                if gram in counts and k > best[gram]:
                    best[gram] = k
        matches.append(sum(min(k, best[g]) for g, k in counts.items()))
        totals.append(max(1, sum(counts.values())))
    size = len(hypothesis)
    closest = min((len(r) for r in references), key=lambda r: (abs(r - size), r))
    return [*matches, *totals, size, closest]


def corpus_bleu4(stats: list[int]) -> float:
    """BLEU-4 from the summed statistics of :func:`bleu_counts`, computed as nltk computes it (no
    smoothing: an order without matches counts as the smallest float, so the score is about 0)."""
    matches, totals, size, closest = stats[:4], stats[4:8], stats[8], stats[9]
    if matches[0] == 0:
        return 0.0
    if size > closest:
        penalty = 1.0
    elif size == 0:
        penalty = 0.0
    else:
        penalty = math.exp(1 - closest / size)
    logs = (0.25 * math.log(m / t if m else sys.float_info.min) for m, t in zip(matches, totals, strict=True))
    return penalty * math.exp(math.fsum(logs))


class _RowSums:
    """Rows of a sparse matrix, given as (row, column, value) triples: :meth:`dot` gives each row's
    sum of value x weights[column] for a block of draws' weights ((columns, draws)), summed in a
    fixed order (row by row: no BLAS, whose order depends on the CPU)."""

    def __init__(self, rows: list[int], cols: list[int], values: list[float], n_rows: int):
        order = np.lexsort((np.asarray(cols, dtype=np.int64), np.asarray(rows, dtype=np.int64)))
        self.cols = np.asarray(cols, dtype=np.int64)[order]
        self.values = np.asarray(values, dtype=np.float64)[order][:, None]
        self.filled, self.starts = np.unique(np.asarray(rows, dtype=np.int64)[order], return_index=True)
        self.n_rows = n_rows

    def dot(self, weights: np.ndarray) -> np.ndarray:
        out = np.zeros((self.n_rows, weights.shape[1]))
        if len(self.cols):
            out[self.filled] = np.add.reduceat(weights[self.cols] * self.values, self.starts, axis=0)
        return out


@dataclass(frozen=True)
class _Captions:
    """One caption per test image, counted once for every draw: BLEU's statistics and CIDEr's
    sparse rows."""

    bleu: np.ndarray  # (images, 10) int64: bleu_counts of each image
    norms: _RowSums  # rows (image, order): the caption's squared counts
    products: _RowSums  # rows (reference pair, order): min(caption, reference) x reference counts
    penalty: np.ndarray  # (pairs,) CIDEr-D's Gaussian length penalty of each (image, reference)


class Resampler:
    """The test images' references, ready to score any captions of them on any draw of them."""

    def __init__(self, references: list[list[Tokens]]):
        if not references or any(not refs for refs in references):
            raise ValueError("every test image needs a reference caption")
        self.references = references
        self.n = len(references)
        # CIDEr's references: their n-grams (columns), as coco-caption reads them (split on spaces)
        refs = [[" ".join(r).split() for r in image] for image in references]
        self.column: dict[tuple[str, ...], int] = {}
        self.ref_counts: list[list[Counter]] = []
        image_grams: list[list[int]] = []
        for image in refs:
            counted = [self._counts(r, add=True) for r in image]
            self.ref_counts.append(counted)
            image_grams.append(sorted({self.column[g] for c in counted for g in c}))
        self.absent = len(self.column)  # one more column: n-grams of no reference (df 0)
        self.image_grams = [np.asarray(g, dtype=np.int64) for g in image_grams]
        # (log N - log max(1, df))**2 for every df a draw can give, 0..N
        log_n = math.log(float(self.n))
        self.table = np.array([(log_n - math.log(max(1.0, float(d)))) ** 2 for d in range(self.n + 1)])
        self.pairs = [(i, j) for i, image in enumerate(refs) for j in range(len(image))]
        self.pair_image = np.array([i for i, _ in self.pairs], dtype=np.int64)
        self.image_start = np.searchsorted(self.pair_image, np.arange(self.n))
        self.refs_per_image = np.array([len(image) for image in refs], dtype=np.float64)[:, None]
        rows, cols, values = [], [], []
        for p, (i, j) in enumerate(self.pairs):
            for g, k in self.ref_counts[i][j].items():
                rows.append(4 * p + len(g) - 1)
                cols.append(self.column[g])
                values.append(float(k * k))
        self.ref_norms = _RowSums(rows, cols, values, 4 * len(self.pairs))
        self.ref_lengths = np.array(
            [sum(k for g, k in self.ref_counts[i][j].items() if len(g) == 2) for i, j in self.pairs], dtype=np.float64
        )

    def _counts(self, tokens: Tokens, add: bool = False) -> Counter:
        counts: Counter = Counter()
        for n in range(1, 5):
            counts.update(_ngrams(tokens, n))
        if add:
            for g in counts:
                self.column.setdefault(g, len(self.column))
        return counts

    def prepare(self, hypotheses: list[Tokens]) -> _Captions:
        """What scoring ``hypotheses`` (one caption per test image, as tokens) on a draw needs."""
        if len(hypotheses) != self.n:
            raise ValueError(f"{len(hypotheses)} captions for {self.n} images")
        stats = np.array([bleu_counts(h, r) for h, r in zip(hypotheses, self.references, strict=True)], dtype=np.int64)
        # CIDEr: the caption as coco-caption reads it (an empty one stands as one word, as in Scorer)
        hyp = [self._counts(h or [EMPTY]) for h in (" ".join(x).split() for x in hypotheses)]
        col = [{g: self.column.get(g, self.absent) for g in c} for c in hyp]
        rows, cols, values = [], [], []
        for i, c in enumerate(hyp):
            for g, k in c.items():
                rows.append(4 * i + len(g) - 1)
                cols.append(col[i][g])
                values.append(float(k * k))
        norms = _RowSums(rows, cols, values, 4 * self.n)
        rows, cols, values = [], [], []
        for p, (i, j) in enumerate(self.pairs):
            ref = self.ref_counts[i][j]
            for g, k in hyp[i].items():
                r = ref.get(g, 0)
                if r:
                    rows.append(4 * p + len(g) - 1)
                    cols.append(col[i][g])
                    values.append(float(min(k, r) * r))
        products = _RowSums(rows, cols, values, 4 * len(self.pairs))
        hyp_lengths = np.array([sum(k for g, k in c.items() if len(g) == 2) for c in hyp], dtype=np.float64)
        delta = hyp_lengths[self.pair_image] - self.ref_lengths
        penalty = np.array([math.e ** (-(d * d) / (2 * SIGMA**2)) for d in delta])[:, None]
        return _Captions(stats, norms, products, penalty)

    def weights(self, counts: np.ndarray) -> np.ndarray:
        """CIDEr's weight of every n-gram column in each draw of ``counts``: (columns + 1, draws)."""
        df = np.zeros((self.absent + 1, counts.shape[0]), dtype=np.int64)
        for i, grams in enumerate(self.image_grams):
            df[grams] += counts[:, i]
        return self.table[df]

    def scores(self, captions: list[_Captions], counts: np.ndarray) -> list[dict[str, np.ndarray]]:
        """BLEU-4 and CIDEr of each of ``captions`` (:meth:`prepare`) on each draw of ``counts``
        ((draws, images): how often each image is drawn), as arrays of one value per draw."""
        out = []
        for c in captions:
            summed = counts @ c.bleu  # integers: exact, in any order
            out.append(
                {
                    "bleu4": np.array([corpus_bleu4([int(v) for v in row]) for row in summed]),
                    "cider": np.empty(len(counts)),
                }
            )
        n_pairs = len(self.pairs)
        for start in range(0, counts.shape[0], CHUNK):
            block = counts[start : start + CHUNK]
            w = self.weights(block)
            ref_norm = np.sqrt(self.ref_norms.dot(w)).reshape(n_pairs, 4, len(block))
            for c, o in zip(captions, out, strict=True):
                hyp_norm = np.sqrt(c.norms.dot(w)).reshape(self.n, 4, len(block))[self.pair_image]
                product = c.products.dot(w).reshape(n_pairs, 4, len(block))
                both = (hyp_norm != 0) & (ref_norm != 0)
                cosine = np.divide(product, hyp_norm * ref_norm, out=product.copy(), where=both)
                per_pair = cosine.sum(axis=1) / 4 * c.penalty  # the mean over the orders, the length penalty
                per_image = np.add.reduceat(per_pair, self.image_start, axis=0) / self.refs_per_image * 10.0
                o["cider"][start : start + len(block)] = (per_image * block.T).sum(axis=0) / self.n
        return out


def interval(values: np.ndarray, level: float) -> tuple[float, float]:
    """The percentile interval holding ``level`` of ``values`` (the draws' differences)."""
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return round(float(low), 6), round(float(high), 6)


def verdict(low: float, high: float) -> str:
    """``ahead`` when the interval of attention − vanilla lies above 0, ``behind`` below it,
    ``within the noise`` when it holds 0."""
    return "ahead" if low > 0 else "behind" if high < 0 else "within the noise"


def paired_bootstrap(
    references: list[list[Tokens]],
    captions: dict[str, dict[int, dict[str, list[Tokens]]]],
    draws: int,
    level: float,
    seed: int,
    first: str = "attention",
    second: str = "vanilla",
) -> dict:
    """``first`` − ``second`` judged by paired bootstrap. ``captions[decoder][seed][how]`` are the
    test captions of a run decoded one way (greedy, beam, …), image by image as ``references``.

    Returns ``{"full": {decoder: {seed: {how: {score: value}}}}`` (the scores on all test images),
    ``"by_seed": {how: {score: {seed: {"difference", "low", "high", "wins"}}}}`` (the images
    resampled, the seed fixed) and ``"pooled": {how: {score: {"low", "high", "wins"}}}`` (seeds and
    images resampled together: a draw's difference is the mean over its drawn seeds, on its drawn
    images). ``low``/``high`` bound the ``level`` percentile interval of the difference and ``wins``
    is the share of draws in which ``first`` scores higher."""
    seeds = sorted(captions[first])
    if sorted(captions[second]) != seeds:
        raise ValueError(f"the decoders were not run with the same seeds ({sorted(captions[second])}, {seeds})")
    ways = list(captions[first][seeds[0]])
    resampler = Resampler(references)
    drawn = draw(resampler.n, len(seeds), draws, seed)
    runs = [(m, s, how) for m in (first, second) for s in seeds for how in ways]
    prepared = [resampler.prepare(captions[m][s][how]) for m, s, how in runs]
    scored = dict(zip(runs, resampler.scores(prepared, drawn.images), strict=True))
    everything = resampler.scores(prepared, np.ones((1, resampler.n), dtype=np.int64))
    full = {run: {k: float(v[0]) for k, v in e.items()} for run, e in zip(runs, everything, strict=True)}
    out: dict = {
        "full": {m: {s: {how: full[m, s, how] for how in ways} for s in seeds} for m in (first, second)},
        "by_seed": {},
        "pooled": {},
    }
    for how in ways:
        out["by_seed"][how], out["pooled"][how] = {}, {}
        for k in SCORES:
            diffs = np.stack([scored[first, s, how][k] - scored[second, s, how][k] for s in seeds])  # (seeds, draws)
            out["by_seed"][how][k] = {
                s: {
                    "difference": round(full[first, s, how][k] - full[second, s, how][k], 6),
                    **dict(zip(("low", "high"), interval(d, level), strict=True)),
                    "wins": round(float(np.mean(d > 0)), 6),
                }
                for s, d in zip(seeds, diffs, strict=True)
            }
            pooled = diffs[drawn.seeds, np.arange(draws)[:, None]].sum(axis=1) / len(seeds)
            low, high = interval(pooled, level)
            out["pooled"][how][k] = {"low": low, "high": high, "wins": round(float(np.mean(pooled > 0)), 6)}
    return out
