import numpy as np
import pandas as pd
import pytest

from dlnet import model as net
from dlnet.cost import costs
from dlnet.pareto import front_ranks, select


def test_costs_of_a_hand_checked_student():
    # in 6, enc 5, width 3 (rank 1), dec 4 -> 2, out 2
    m = net.LiquidNet(net.student_config(3, 5, 4, 2, rank=1, input_len=6, output_len=2))
    linear = 6 * 5 + 5 * 3 + 3 * 4 + 4 * 2 + 2 * 2                        # 69 multiplies
    norms = 2 * (5 + 3 + 4)                                                # 24
    cell = (3 + 2 * 3 * 1) + 3 + 2 * 3 + 3                                 # 21
    assert costs(m)["macs"] == linear + norms + cell
    matrices = linear + 2 * 3                                              # + U, V (3x1 each)
    vectors = (5 + 3 + 4 + 2 + 2) + 2 * (5 + 3 + 4) + (3 + 3 + 3 + 3 + 3) + 1  # biases, LN, cell, r
    assert costs(m)["params"] == matrices + vectors


def test_int8_bytes_are_the_bytes_of_the_deployed_blob():
    import numpy as np

    from dlnet.quant.blob import to_bytes
    from dlnet.quant.qmodel import quantize
    from dlnet.scaling import Scaler

    m = net.LiquidNet(net.student_config(3, 5, 4, 2, rank=1, input_len=6, output_len=2)).eval()
    # blob layout (format 3: every field padded to a multiple of 4 bytes, p4): header 16, 11 dims
    # 44, anchor 20, latent tanh table 256, residual 20; per Linear 12 + p4(in*out) + 8*out + p4(out); per
    # LayerNorm 20 + 8n + p4(n); low-rank cell: 8 + V (a Linear W -> r) + 28W (diagonal, U and
    # drive multipliers, U bias, bias, keep and gain) + 5 p4(W) (their shifts) + p4(W*r) (U)
    # + 256 (tanh)
    def p4(n):
        return -(-n // 4) * 4

    def linear(i, o):
        return 12 + p4(i * o) + 8 * o + p4(o)

    w, r = 3, 1
    linears = sum(linear(i, o) for i, o in ((6, 5), (5, 3), (3, 4), (4, 2), (2, 2)))
    norms = sum(20 + 8 * n + p4(n) for n in (5, 3, 4))
    cell = 8 + linear(w, r) + 28 * w + 5 * p4(w) + p4(w * r) + 256
    expected = 80 + 256 + 20 + linears + norms + cell
    x = 0.9 + 0.01 * np.random.default_rng(0).standard_normal((20, 6))
    blob = to_bytes(quantize(m, Scaler("anchored", 0.2, anchor_len=3), x))
    assert costs(m)["int8_bytes"] == expected == len(blob)
    # the quadratic scaling stores its parabola: 3 x trend_len int32 weights and 3 shifts
    quadratic = Scaler("quadratic", 0.2, anchor_len=3, trend_len=5)
    blob = to_bytes(quantize(m, quadratic, x))
    assert costs(m, quadratic)["int8_bytes"] == expected + 12 * 5 + 12 == len(blob)


def test_teacher_macs_count_nine_full_coupling_steps():
    m = net.LiquidNet(net.teacher_config())
    linear = 100 * 256 + 256 * 128 + 128 * 256 + 256 * 128 + 128 * 100
    assert costs(m)["macs"] == linear + 2 * (256 + 128 + 256) + 9 * (128 * 128 + 3 * 128) + 128


def test_pymoo_fronts_on_hand_made_points():
    pts = [[1, 5], [2, 2], [5, 1], [3, 3], [6, 6], [2, 2.5]]
    assert front_ranks(pts).tolist() == [1, 1, 1, 3, 4, 2]
    assert front_ranks(np.zeros((0, 2))).tolist() == []
    three = [[1, 1, 9], [1, 9, 1], [2, 2, 2], [3, 3, 3]]
    assert front_ranks(three).tolist() == [1, 1, 1, 2]


def test_selection_rules_read_validation_and_cost_only():
    f = pd.DataFrame({"val_mae": [0.010, 0.0103, 0.02, 0.0104], "int8_bytes": [9000, 3000, 500, 2500],
                      "test_mae": [0.5, 0.0, 0.0, 0.9]})
    idx, reason = select(f, "val_mae", "int8_bytes", "within_best", 0.05)
    assert idx == 3 and "0.010500" in reason           # cheapest within 5% of the best
    idx, _ = select(f, "val_mae", "int8_bytes", "within_best", 0.0)
    assert idx == 0
    idx, _ = select(f.drop(columns="test_mae"), "val_mae", "int8_bytes", "within_best", 0.05)
    assert idx == 3                                     # test column plays no part
    # knee: error and log-cost scaled to [0, 1]; the point furthest below the line from the
    # cheapest (row 2) to the most accurate (row 0) is row 3 (0.0104 at 2500 bytes)
    idx, _ = select(f, "val_mae", "int8_bytes", "knee", 0.0)
    assert idx == 3
    with pytest.raises(ValueError):
        select(f, "val_mae", "int8_bytes", "best_test", 0.0)
