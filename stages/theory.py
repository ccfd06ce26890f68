"""Stage theory: the homework's Question 1 checked by code (parameter counts, attention identities)."""

from _stage import PATHS, stage

from hw2.common.atomic import write_json
from hw2.common.plotting import write_csv
from hw2.common.runtime import Kernels
from hw2.theory import attention_checks, parameter_table, q1_1_cnn, q1_2_mlp

TOLERANCE = 1e-12  # float64: identities that hold exactly differ only by rounding


@stage
def main(params):
    Kernels(params.kernels).apply()  # float64 here, through the same pinned kernels, one thread
    cnn, mlp = parameter_table(q1_1_cnn()), parameter_table(q1_2_mlp())
    att = attention_checks()
    total_cnn, total_mlp = sum(r["params"] for r in cnn), sum(r["params"] for r in mlp)
    ok = all(
        c["rank_A"] <= att["d"]
        and c["max_diff_softmax_XAXt"] < TOLERANCE
        and c["max_diff_reparametrised_head"] < TOLERANCE
        for c in (att, att["unscaled"])
    )
    write_json(
        PATHS.theory_metrics,
        {
            "q1_1_params": total_cnn,
            "q1_2_params": total_mlp,
            "fc_over_cnn": round(total_mlp / total_cnn, 2),
            "q1_3": att | {"holds": ok},
        },
    )
    write_csv(
        PATHS.theory_layers,
        ["network", "layer", "output", "weights", "biases", "params"],
        [
            (net, r["layer"], "x".join(map(str, r["output"])), r["weights"], r["biases"], r["params"])
            for net, rows in (("Q1.1 CNN", cnn), ("Q1.2 fully connected", mlp))
            for r in rows
        ],
    )
    print(
        f"Q1.1 CNN: {total_cnn:,} parameters; Q1.2 fully connected: {total_mlp:,} "
        f"({total_mlp / total_cnn:.1f}x as many)"
    )
    print(
        f"Q1.3: rank(A) = {att['rank_A']} <= d = {att['d']}; softmax(X A X^T) vs the head: max difference "
        f"{att['max_diff_softmax_XAXt']:.1e}; W_Q B, W_K B^-T vs W_Q, W_K: {att['max_diff_reparametrised_head']:.1e}"
    )
    if not ok:
        raise RuntimeError("Q1.3: an identity does not hold numerically (see metrics/theory.json)")


if __name__ == "__main__":
    main()
