"""Caption decoders over ResNet-18 region features: a vanilla LSTM and Show, Attend and Tell's
additive attention (Xu et al., 2015), in the homework's words.

Shapes: features (B, R, E) with R = 49 regions of E = 512; captions (B, T) token ids starting
with <start>; lengths (B,) counting <start> and <end>. Teacher forcing predicts token t+1 from
tokens ≤ t, so a caption of length L is decoded in L − 1 steps. Sequences are sorted by length
(longest first) and step t runs only the sequences still alive, as in sgrvinod's tutorial.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class DecoderOutput:
    scores: torch.Tensor  # (B, T−1, V) vocabulary scores; zero after each sequence's end
    targets: torch.Tensor  # (B, T−1) the tokens to predict, in the sorted order
    decode_lengths: list[int]  # (B,) steps per sequence, sorted, longest first
    alphas: torch.Tensor | None  # (B, T−1, R) attention weights (attention decoder), else None
    order: torch.Tensor  # (B,) sorted position → original index


class Attention(nn.Module):
    """Additive attention: score_i = full_att(relu(encoder_att(a_i) + decoder_att(h))),
    softmax over the R regions, context = Σ α_i a_i."""

    def __init__(self, encoder_dim: int, decoder_dim: int, attention_dim: int):
        super().__init__()
        self.encoder_att = nn.Linear(encoder_dim, attention_dim)
        self.decoder_att = nn.Linear(decoder_dim, attention_dim)
        self.full_att = nn.Linear(attention_dim, 1)

    def forward(self, features: torch.Tensor, h: torch.Tensor, projected: torch.Tensor | None = None):
        """features (B, R, E), h (B, D) → context (B, E), alpha (B, R). ``projected`` is
        ``encoder_att(features)``, which callers may compute once per caption."""
        projected = self.encoder_att(features) if projected is None else projected
        scores = self.full_att(F.relu(projected + self.decoder_att(h).unsqueeze(1))).squeeze(2)  # (B, R)
        alpha = scores.softmax(dim=1)
        return (alpha.unsqueeze(2) * features).sum(dim=1), alpha


class Decoder(nn.Module):
    """What both decoders share. Subclasses define ``step(features, word, state, projected)``:
    one LSTM step for the previous ``word`` (B,) → scores (B, V), new (h, c), alpha (B, R) | None."""

    attends = False

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int,
        decoder_dim: int,
        encoder_dim: int,
        dropout: float,
        feature_norm: bool = False,
    ):
        super().__init__()
        self.vocab_size = vocab_size
        # LayerNorm over each region's E features (with a learnt scale and shift) before anything
        # reads them: a random or ImageNet encoder's ReLU outputs are non-negative, of a scale
        # that varies from region to region and image to image
        self.norm = nn.LayerNorm(encoder_dim) if feature_norm else None
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.dropout = nn.Dropout(dropout)
        self.init_h = nn.Linear(encoder_dim, decoder_dim)  # the image enters through the initial state,
        self.init_c = nn.Linear(encoder_dim, decoder_dim)  # from the mean of the region features
        self.fc = nn.Linear(decoder_dim, vocab_size)

    def encode(self, features: torch.Tensor) -> torch.Tensor:
        """The region features (B, R, E) as the decoder reads them: layer-normalised with
        ``feature_norm``, else as given. Every caller applies it once, before :meth:`init_state`."""
        return features if self.norm is None else self.norm(features)

    def init_state(self, features: torch.Tensor):
        mean = features.mean(dim=1)
        return torch.tanh(self.init_h(mean)), torch.tanh(self.init_c(mean))

    def forward(self, features: torch.Tensor, captions: torch.Tensor, lengths: torch.Tensor) -> DecoderOutput:
        """Teacher forcing, as the homework and sgrvinod's tutorial write it: the captions sorted
        by length, then :meth:`step` for each word over the sequences still decoding."""
        lengths, order = lengths.sort(descending=True)
        features, captions = self.encode(features[order]), captions[order]
        decode_lengths = (lengths - 1).tolist()
        steps = max(decode_lengths)
        B = features.shape[0]
        projected = self.precompute(features)
        h, c = self.init_state(features)
        scores, alphas = [], []
        for t in range(steps):
            n = sum(length > t for length in decode_lengths)  # sequences still decoding
            s, (h, c), alpha = self.step(
                features[:n], captions[:n, t], (h[:n], c[:n]), None if projected is None else projected[:n]
            )
            scores.append(F.pad(s, (0, 0, 0, B - n)))
            if alpha is not None:
                alphas.append(F.pad(alpha, (0, 0, 0, B - n)))
        return DecoderOutput(
            torch.stack(scores, dim=1),
            captions[:, 1 : steps + 1],
            decode_lengths,
            torch.stack(alphas, dim=1) if alphas else None,
            order,
        )

    def precompute(self, features: torch.Tensor) -> torch.Tensor | None:
        """What :meth:`step` can reuse for every word of a caption (the attention decoder's
        projected features); None for a decoder without attention."""
        return None

    def step(
        self,
        features: torch.Tensor,
        word: torch.Tensor,
        state: tuple[torch.Tensor, torch.Tensor],
        projected: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor], torch.Tensor | None]:
        raise NotImplementedError  # each decoder's own


class DecoderRNN(Decoder):
    """Vanilla decoder: LSTMCell over word embeddings; hidden state → dropout → fc → scores."""

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int,
        decoder_dim: int,
        encoder_dim: int,
        dropout: float,
        feature_norm: bool = False,
    ):
        super().__init__(vocab_size, embed_dim, decoder_dim, encoder_dim, dropout, feature_norm)
        self.decode_step = nn.LSTMCell(embed_dim, decoder_dim)

    def step(self, features, word, state, projected=None):
        h, c = self.decode_step(self.embedding(word), state)
        return self.fc(self.dropout(h)), (h, c), None


class DecoderWithAttention(Decoder):
    """Attention decoder: the LSTM input is the word embedding concatenated with the
    attention-weighted feature vector, optionally gated by σ(f_beta(h)) (Show, Attend and Tell)."""

    attends = True

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int,
        decoder_dim: int,
        encoder_dim: int,
        attention_dim: int,
        dropout: float,
        feature_norm: bool = False,
        gate: bool = True,
    ):
        super().__init__(vocab_size, embed_dim, decoder_dim, encoder_dim, dropout, feature_norm)
        self.attention = Attention(encoder_dim, decoder_dim, attention_dim)
        self.f_beta = nn.Linear(decoder_dim, encoder_dim) if gate else None
        self.decode_step = nn.LSTMCell(embed_dim + encoder_dim, decoder_dim)

    def precompute(self, features):
        return self.attention.encoder_att(features)

    def step(self, features, word, state, projected=None):
        h, c = state
        context, alpha = self.attention(features, h, projected)
        if self.f_beta is not None:
            context = torch.sigmoid(self.f_beta(h)) * context
        h, c = self.decode_step(torch.cat([self.embedding(word), context], dim=1), (h, c))
        return self.fc(self.dropout(h)), (h, c), alpha


def caption_loss(out: DecoderOutput, alpha_c: float = 0.0) -> torch.Tensor:
    """Cross-entropy over real tokens only (padding after each sequence's end is masked), plus
    the doubly stochastic attention regulariser α_c·Σ_i (1 − Σ_t α_ti)² when ``alpha_c`` > 0."""
    steps = out.scores.shape[1]
    mask = (
        torch.arange(steps, device=out.scores.device)[None]
        < torch.tensor(out.decode_lengths, device=out.scores.device)[:, None]
    )
    loss = F.cross_entropy(out.scores[mask], out.targets[mask])
    if alpha_c and out.alphas is not None:
        loss = loss + alpha_c * ((1.0 - out.alphas.sum(dim=1)) ** 2).mean()
    return loss


def build_decoder(
    kind: str,
    vocab_size: int,
    encoder_dim: int,
    embed_dim: int,
    decoder_dim: int,
    attention_dim: int,
    dropout: float,
    feature_norm: bool = False,
) -> Decoder:
    """The ``vanilla`` or ``attention`` decoder."""
    if kind == "vanilla":
        return DecoderRNN(vocab_size, embed_dim, decoder_dim, encoder_dim, dropout, feature_norm)
    if kind == "attention":
        return DecoderWithAttention(
            vocab_size, embed_dim, decoder_dim, encoder_dim, attention_dim, dropout, feature_norm
        )
    raise ValueError(f"the decoder must be vanilla or attention, not {kind!r}")
