"""Captions from a trained decoder: greedy decoding and beam search, one image or many."""

from __future__ import annotations

import torch
from tqdm import tqdm

from .models import Decoder
from .vocab import END, START, Vocabulary


@torch.no_grad()
def greedy_decode(model: Decoder, features: torch.Tensor, start: int, end: int, max_length: int):
    """Most likely word at each step until <end> or ``max_length`` words: → (B, ≤ max_length)
    token ids (each row stops at its first <end>, which is kept) and alphas (B, steps, R) | None."""
    B = features.shape[0]
    features = model.encode(features)
    word = torch.full((B,), start, dtype=torch.long, device=features.device)
    state, projected = model.init_state(features), model.precompute(features)
    words, alphas = [], []
    done = torch.zeros(B, dtype=torch.bool, device=features.device)
    for _ in range(max_length + 1):
        scores, state, alpha = model.step(features, word, state, projected)
        word = scores.argmax(dim=1)
        words.append(word)
        if alpha is not None:
            alphas.append(alpha)
        done |= word == end
        if done.all():
            break
    return torch.stack(words, 1), (torch.stack(alphas, 1) if alphas else None)


def length_normalised(log_prob: float, tokens: int, length_penalty: float) -> float:
    """A caption's summed log-probability divided by GNMT's length penalty ((5 + tokens) / 6) **
    ``length_penalty`` (Wu et al., 2016): 0 leaves the sum as it is, which favours short captions
    (every word adds a negative term); larger values favour longer ones."""
    return log_prob / ((5 + tokens) / 6) ** length_penalty if length_penalty else log_prob


def beam_label(beam_size: int, length_penalty: float = 0.0) -> str:
    """How beam search was set, in words: ``beam 3`` or ``beam 3, length penalty 1``."""
    return f"beam {beam_size}" + (f", length penalty {length_penalty:g}" if length_penalty else "")


@torch.no_grad()
def beam_search(
    model: Decoder,
    features: torch.Tensor,
    start: int,
    end: int,
    max_length: int,
    beam_size: int = 3,
    length_penalty: float = 0.0,
) -> tuple[list[int], torch.Tensor | None]:
    """The most likely caption of one image (features (R, E)) under a beam of ``beam_size``:
    → token ids after <start> (ending with <end> when one was produced within ``max_length`` + 1
    steps) and the attention weights of each step (steps, R) | None. The search keeps the
    ``beam_size`` best partial captions by summed log-probability, as in Show, Attend and Tell;
    the finished captions are then ranked by :func:`length_normalised` with ``length_penalty``
    (0: by the sum itself). A beam of 1 is greedy decoding."""
    if beam_size < 1:
        raise ValueError(f"beam size must be >= 1, not {beam_size}")
    if length_penalty < 0:
        raise ValueError(f"length penalty must be >= 0, not {length_penalty}")
    feats = model.encode(features.unsqueeze(0))  # one live beam to start: no duplicates
    state, projected = model.init_state(feats), model.precompute(feats)
    words = torch.full((1,), start, dtype=torch.long, device=features.device)
    seqs: list[list[int]] = [[]]
    alphas: list[list[torch.Tensor]] = [[]]
    totals = torch.zeros(1, device=features.device)
    done: list[tuple[float, list[int], list[torch.Tensor]]] = []
    for _ in range(max_length + 1):
        k = len(seqs)
        scores, (h, c), alpha = model.step(
            feats.expand(k, -1, -1), words, state, None if projected is None else projected.expand(k, -1, -1)
        )
        candidates = (totals[:, None] + scores.log_softmax(dim=1)).flatten()
        top, index = candidates.topk(min(beam_size - len(done), len(candidates)))
        beam, word = index // scores.shape[1], index % scores.shape[1]
        keep = []
        for s, b, w in zip(top.tolist(), beam.tolist(), word.tolist(), strict=True):
            seq = seqs[b] + [w]
            att = alphas[b] + ([alpha[b]] if alpha is not None else [])
            if w == end:
                done.append((s, seq, att))
            else:
                keep.append((s, b, w, seq, att))
        if not keep or len(done) >= beam_size:
            break
        totals = torch.tensor([s for s, *_ in keep], device=features.device)
        rows = torch.tensor([b for _, b, *_ in keep], device=features.device)
        words = torch.tensor([w for _, _, w, *_ in keep], device=features.device)
        state = (h[rows], c[rows])
        seqs, alphas = [seq for *_, seq, _ in keep], [att for *_, att in keep]
    else:
        done.extend((s, seq, att) for s, seq, att in zip(totals.tolist(), seqs, alphas, strict=True))
    if not done:  # every beam stopped at the length limit this very step
        done.extend((s, seq, att) for s, seq, att in zip(totals.tolist(), seqs, alphas, strict=True))
    _, best, att = max(done, key=lambda d: length_normalised(d[0], len(d[1]), length_penalty))
    return best, (torch.stack(att) if att else None)


def strip_end(ids: list[int], end: int) -> list[int]:
    """Token ids up to, without, the first ``end``."""
    return ids[: ids.index(end)] if end in ids else ids


@torch.no_grad()
def greedy_ids(
    model: Decoder,
    features: torch.Tensor,
    start: int,
    end: int,
    max_length: int,
    batch: int = 64,
    progress: str | None = None,
) -> list[list[int]]:
    """Greedy captions of the images ``features`` (N, R, E), ``batch`` images at a time: token ids
    without <start> and <end>. ``progress``: the label of a progress bar, shown on a terminal only."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    for i in tqdm(
        range(0, len(features), batch), desc=progress, unit="batch", leave=False, disable=None if progress else True
    ):
        words, _ = greedy_decode(model, features[i : i + batch].to(device).float(), start, end, max_length)
        out += [strip_end(w, end) for w in words.tolist()]
    return out


@torch.no_grad()
def decode_captions(
    model: Decoder,
    features: torch.Tensor,
    vocab: Vocabulary,
    beam_size: int | None,
    max_length: int = 0,
    batch: int = 64,
    progress: str | None = None,
    length_penalty: float = 0.0,
) -> list[list[str]]:
    """Captions (words, no special tokens) of the images ``features`` (N, R, E): greedy decoding
    when ``beam_size`` is None, else beam search with that beam and ``length_penalty``; at most
    ``max_length`` words (0: the vocabulary's longest training caption)."""
    start, end = vocab.stoi[START], vocab.stoi[END]
    max_length = max_length or vocab.max_length
    if beam_size is None:
        return [vocab.decode(ids) for ids in greedy_ids(model, features, start, end, max_length, batch, progress)]
    model.eval()
    device = next(model.parameters()).device
    out = []
    for f in tqdm(features, desc=progress, unit="image", leave=False, disable=None if progress else True):
        ids, _ = beam_search(model, f.to(device).float(), start, end, max_length, beam_size, length_penalty)
        out.append(vocab.decode(ids))
    return out


def caption_one(
    model: Decoder,
    features: torch.Tensor,
    vocab: Vocabulary,
    beam_size: int,
    max_length: int = 0,
    length_penalty: float = 0.0,
) -> tuple[list[str], list[str], torch.Tensor | None]:
    """One image's caption by beam search (with ``length_penalty``): its words (no special tokens), the token of every
    decoding step (the words, an ``<unk>`` as such, and the final ``<end>`` when one was produced),
    and the attention weights of every step, (steps, R), or None for a decoder without attention."""
    device = next(model.parameters()).device
    ids, alphas = beam_search(
        model,
        features.to(device).float(),
        vocab.stoi[START],
        vocab.stoi[END],
        max_length or vocab.max_length,
        beam_size,
        length_penalty,
    )
    return vocab.decode(ids), [vocab.itos[i] for i in ids], None if alphas is None else alphas.cpu()
