"""The caption decoders: shapes, masking, attention over the 49 regions, learning a few captions."""

from __future__ import annotations

import torch
from nltk.translate.bleu_score import corpus_bleu

from hw2.captioning.decoding import beam_search, greedy_decode, length_normalised
from hw2.captioning.models import Attention, DecoderRNN, DecoderWithAttention, caption_loss

V, START, END = 20, 1, 2


def batch(seed=0, B=5, lengths=(7, 4, 9, 5, 3)):
    g = torch.Generator().manual_seed(seed)
    features = torch.randn(B, 49, 512, generator=g)
    T = max(lengths)
    captions = torch.zeros(B, T, dtype=torch.long)
    for i, n in enumerate(lengths):
        captions[i, 0], captions[i, n - 1] = START, END
        captions[i, 1 : n - 1] = torch.randint(4, V, (n - 2,), generator=g)
    return features, captions, torch.tensor(lengths)


def until_end(ids: list[int]) -> list[int]:
    return ids[: ids.index(END)] if END in ids else ids


def test_the_attention_weights_over_the_49_regions_sum_to_1():
    att = Attention(512, 64, 32)
    context, alpha = att(torch.randn(3, 49, 512), torch.randn(3, 64))
    assert alpha.shape == (3, 49) and context.shape == (3, 512)
    assert torch.allclose(alpha.sum(1), torch.ones(3)) and (alpha >= 0).all()


def test_decoder_shapes_and_only_live_sequences_are_decoded():
    features, captions, lengths = batch()
    for model in (DecoderRNN(V, 16, 32, 512, 0.5), DecoderWithAttention(V, 16, 32, 512, 24, 0.5)):
        out = model(features, captions, lengths)
        assert out.scores.shape == (5, 8, V) and out.targets.shape == (5, 8)
        assert out.decode_lengths == [8, 6, 4, 3, 2]
        assert torch.equal(lengths[out.order], torch.tensor([9, 7, 5, 4, 3]))
        for i, n in enumerate(out.decode_lengths):
            assert out.scores[i, n:].abs().sum() == 0 and out.scores[i, :n].abs().sum() > 0
        if model.attends:
            assert out.alphas.shape == (5, 8, 49)
            for i, n in enumerate(out.decode_lengths):
                assert torch.allclose(out.alphas[i, :n].sum(-1), torch.ones(n))
        else:
            assert out.alphas is None


def test_padding_does_not_count_in_the_loss():
    features, captions, lengths = batch()
    model = DecoderWithAttention(V, 16, 32, 512, 24, 0.5).eval()
    before = caption_loss(model(features, captions, lengths), alpha_c=1.0)
    noisy = captions.clone()
    for i, n in enumerate(lengths.tolist()):
        noisy[i, n:] = 7  # garbage after each caption's end
    assert torch.equal(before, caption_loss(model(features, noisy, lengths), alpha_c=1.0))


def test_each_decoder_learns_a_handful_of_captions_to_bleu4_of_1():
    torch.manual_seed(0)
    features, captions, lengths = batch(seed=1, B=4, lengths=(8, 6, 9, 7))
    for model in (DecoderRNN(V, 32, 64, 512, 0.0), DecoderWithAttention(V, 32, 64, 512, 32, 0.0)):
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        for _ in range(150):
            opt.zero_grad()
            caption_loss(model(features, captions, lengths)).backward()
            opt.step()
        model.eval()
        words, _ = greedy_decode(model, features, START, END, max_length=10)
        hyps = [until_end(row.tolist()) for row in words]
        refs = [[captions[i, 1 : n - 1].tolist()] for i, n in enumerate(lengths.tolist())]
        assert corpus_bleu(refs, hyps) > 0.99, (type(model).__name__, hyps, refs)


def trained(make, seed=1):
    """``make()``'s decoder, partly trained on a batch: every draw (weights, dropout) from ``seed``."""
    torch.manual_seed(seed)
    model = make()
    features, captions, lengths = batch(seed=seed, B=4, lengths=(8, 6, 9, 7))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(40):  # partly trained: the choices are not all obvious
        opt.zero_grad()
        caption_loss(model(features, captions, lengths)).backward()
        opt.step()
    return model.eval(), features


def test_beam_search_with_beam_1_is_greedy_decoding():
    for make in (lambda: DecoderRNN(V, 16, 32, 512, 0.5), lambda: DecoderWithAttention(V, 16, 32, 512, 24, 0.5)):
        model, features = trained(make)
        greedy, greedy_alphas = greedy_decode(model, features, START, END, max_length=12)
        for i in range(len(features)):
            want = greedy[i].tolist()
            want = want[: want.index(END) + 1] if END in want else want
            got, alphas = beam_search(model, features[i], START, END, max_length=12, beam_size=1)
            assert got == want
            if model.attends:
                assert alphas is not None and torch.allclose(alphas, greedy_alphas[i, : len(got)])


def test_a_wider_beam_never_finds_a_less_likely_caption():
    model, features = trained(lambda: DecoderWithAttention(V, 16, 32, 512, 24, 0.5), seed=3)

    def log_prob(f, seq):
        f = f[None]
        state, projected = model.init_state(f), model.precompute(f)
        word, total = torch.tensor([START]), 0.0
        for w in seq:
            scores, state, _ = model.step(f, word, state, projected)
            total += scores.log_softmax(1)[0, w].item()
            word = torch.tensor([w])
        return total

    differ = 0
    with torch.no_grad():
        for f in features:
            one, _ = beam_search(model, f, START, END, max_length=12, beam_size=1)
            five, _ = beam_search(model, f, START, END, max_length=12, beam_size=5)
            assert one[-1] == END and five[-1] == END  # both finished captions
            assert log_prob(f, five) >= log_prob(f, one) - 1e-5
            differ += five != one
    assert differ  # the wider beam did find other captions


def test_the_length_penalty_divides_by_gnmts_factor():
    assert length_normalised(-6.0, 7, 0.0) == -6.0
    assert length_normalised(-6.0, 7, 1.0) == -6.0 / 2
    assert abs(length_normalised(-6.0, 7, 0.5) - -6.0 / 2**0.5) < 1e-12
    # a longer caption with a lower sum of log-probabilities wins once the penalty is large enough
    short, long = (-4.0, 3), (-5.0, 11)
    assert length_normalised(*short, 0.0) > length_normalised(*long, 0.0)
    assert length_normalised(*long, 1.0) > length_normalised(*short, 1.0)


def test_a_length_penalty_picks_among_the_same_finished_captions_never_a_shorter_one():
    """The penalty only ranks the finished captions the search found: 0 is the plain sum (the
    caption of the most likely ones), a larger penalty picks a caption at least as long, and
    with enough images some caption gets longer."""
    longer = 0
    for seed in range(3):
        model, features = trained(lambda: DecoderWithAttention(V, 16, 32, 512, 24, 0.5), seed=seed)
        features = torch.cat([features, torch.randn(12, 49, 512, generator=torch.Generator().manual_seed(seed))])
        with torch.no_grad():
            for f in features:
                plain, _ = beam_search(model, f, START, END, max_length=12, beam_size=4)
                zero, _ = beam_search(model, f, START, END, max_length=12, beam_size=4, length_penalty=0.0)
                strong, alphas = beam_search(model, f, START, END, max_length=12, beam_size=4, length_penalty=2.0)
                assert zero == plain
                assert alphas is not None and len(strong) >= len(plain) and alphas.shape[0] == len(strong)
                longer += len(strong) > len(plain)
                one, _ = beam_search(model, f, START, END, max_length=12, beam_size=1, length_penalty=2.0)
                greedy, _ = beam_search(model, f, START, END, max_length=12, beam_size=1)
                assert one == greedy  # one beam: one finished caption, nothing to rank
    assert longer > 0


def stepwise_scores(model, features, captions, lengths):
    """Teacher forcing the plain way: ``step`` (the decoding path: LSTMCell, Attention, f_beta, fc)
    word by word for every sequence, as the homework describes it."""
    out = []
    for f, c, n in zip(features, captions, lengths.tolist(), strict=True):
        state, projected = model.init_state(f[None]), model.precompute(f[None])
        rows = []
        for t in range(n - 1):
            s, state, alpha = model.step(f[None], c[t : t + 1], state, projected)
            rows.append((s[0], None if alpha is None else alpha[0]))
        out.append(rows)
    return out


def test_teacher_forcing_computes_what_the_decoding_step_computes():
    # forward() runs the batch sorted by length, the finished sequences dropped at each step; in
    # eval mode (no dropout) it must give every caption's scores and attention as decoding does.
    features, captions, lengths = batch(seed=3)
    for model in (
        DecoderRNN(V, 16, 32, 512, 0.5).eval(),
        DecoderWithAttention(V, 16, 32, 512, 24, 0.5).eval(),
        DecoderWithAttention(V, 16, 32, 512, 24, 0.5, gate=False).eval(),
    ):
        out = model(features, captions, lengths)
        reference = stepwise_scores(model, features, captions, lengths)
        for k, i in enumerate(out.order.tolist()):
            for t, (scores, alpha) in enumerate(reference[i]):
                assert torch.allclose(out.scores[k, t], scores, atol=1e-5)
                if alpha is not None:
                    assert torch.allclose(out.alphas[k, t], alpha, atol=1e-6)
            assert not out.scores[k, len(reference[i]) :].any()  # nothing after the sequence's end


def test_bfloat16_training_arithmetic_stays_close_to_float32():
    features, captions, lengths = batch(seed=4)
    model = DecoderWithAttention(V, 16, 32, 512, 24, 0.5).eval()
    full = caption_loss(model(features, captions, lengths), 1.0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = caption_loss(model(features, captions, lengths), 1.0)
    assert low.dtype == torch.float32 and abs(low.item() - full.item()) < 0.02 * full.item()


def test_with_feature_norm_the_decoders_read_each_region_on_one_scale():
    """feature_norm: LayerNorm over each region's features before the decoder reads them, in training
    (forward), greedy decoding and beam search alike; a region scaled and shifted reads the same
    (without it, it does not)."""
    torch.manual_seed(0)
    features, captions, lengths = batch(seed=5, B=3, lengths=(6, 5, 4))
    features = features.relu()  # an encoder's ReLU outputs: non-negative
    gain = torch.rand(3, 49, 1, generator=torch.Generator().manual_seed(1)) * 9 + 1  # a scale per region
    for make in (
        lambda norm: DecoderRNN(V, 16, 32, 512, 0.0, feature_norm=norm),
        lambda norm: DecoderWithAttention(V, 16, 32, 512, 24, 0.0, feature_norm=norm),
    ):
        torch.manual_seed(2)
        normed = make(True).eval()
        torch.manual_seed(2)
        plain = make(False).eval()
        assert normed.norm is not None and plain.norm is None
        with torch.no_grad():
            a, b = normed(features, captions, lengths).scores, normed(features * gain + 3, captions, lengths).scores
            assert torch.allclose(a, b, atol=1e-4)
            assert not torch.allclose(
                plain(features, captions, lengths).scores,
                plain(features * gain + 3, captions, lengths).scores,
                atol=1e-2,
            )
        greedy, _ = greedy_decode(normed, features, START, END, 8)
        assert torch.equal(greedy, greedy_decode(normed, features * gain + 3, START, END, 8)[0])
        ids, _ = beam_search(normed, features[0], START, END, 8, beam_size=3)
        assert ids == beam_search(normed, features[0] * gain[0] + 3, START, END, 8, beam_size=3)[0]
