"""Question 1: the parameter counts and the self-attention identities, as the homework states them."""

from __future__ import annotations

import pytest
import torch

from hw2.theory import attention_checks, head_probabilities, parameter_table, q1_1_cnn, q1_2_mlp


def test_the_q1_1_cnn_has_10298_parameters_layer_by_layer():
    rows = parameter_table(q1_1_cnn())
    assert sum(r["params"] for r in rows) == 10_298
    conv, _, pool, flat, linear = rows
    assert (conv["output"], conv["weights"], conv["biases"]) == ([8, 24, 24], 8 * 5 * 5 * 3, 8)
    assert pool["output"] == [8, 11, 11] and pool["params"] == 0  # (24 - 4) / 2 + 1 = 11
    assert flat["output"] == [968] and (linear["weights"], linear["biases"]) == (968 * 10, 10)


def test_the_q1_2_fully_connected_network_has_236310_parameters():
    rows = parameter_table(q1_2_mlp())
    assert sum(r["params"] for r in rows) == 236_310
    assert [r["params"] for r in rows if r["params"]] == [2352 * 100 + 100, 100 * 10 + 10]


@pytest.mark.parametrize("L, n, d", [(12, 16, 4), (5, 8, 8), (7, 6, 1)])
def test_attention_is_softmax_of_x_a_xt_with_a_of_rank_at_most_d_and_invariant_to_b(L, n, d):
    r = attention_checks(L, n, d, seed=L)
    for c in (r, r["unscaled"]):  # with the 1/sqrt(d) of Vaswani et al., and the homework's (1) without it
        assert c["rank_A"] == d  # generic W_Q, W_K: rank exactly d (and never more)
        assert c["max_diff_softmax_XAXt"] < 1e-12 and c["max_diff_reparametrised_head"] < 1e-12
    X = torch.randn(L, n, dtype=torch.float64)
    W = torch.randn(n, d, dtype=torch.float64)
    if d > 1:  # the two definitions are different heads: the scaling changes the probabilities
        assert (head_probabilities(X, W, W) - head_probabilities(X, W, W, scaled=False)).abs().max() > 1e-3


def test_the_invariance_check_can_fail_when_b_is_applied_wrongly():
    g = torch.Generator().manual_seed(1)
    X, W_Q, W_K = (torch.randn(*s, generator=g, dtype=torch.float64) for s in ((10, 8), (8, 3), (8, 3)))
    B = torch.randn(3, 3, generator=g, dtype=torch.float64) + 3 * torch.eye(3, dtype=torch.float64)
    P = head_probabilities(X, W_Q, W_K)
    assert (P - head_probabilities(X, W_Q @ B, W_K @ B)).abs().max() > 1e-3  # B, not B^-T: different
    assert (P - head_probabilities(X, W_Q @ B, W_K @ torch.linalg.inv(B).T)).abs().max() < 1e-12


def test_a_head_wider_than_the_embedding_is_refused():
    with pytest.raises(ValueError, match="1 <= d <= n"):
        attention_checks(L=4, n=3, d=5)
