import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import t as student_t

from dlnet import model as net
from dlnet.cost import costs
from dlnet.errors import InputError
from dlnet.pareto import (
    difference_variance,
    dominated_by,
    front_ranks,
    knee,
    stability,
    within_noise,
)
from dlnet.run.select import deployed_run, undeployable
from dlnet.seeds import Noise, _estimate, estimate, failed_runs, lineage


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
    # blob layout (format 6: every field padded to a multiple of 4 bytes, p4): header 16, 10 dims
    # 40, 11 layer records 44, anchor 20, latent tanh table 256, residual 20; per Linear
    # 12 + p4(in*out) + 8*out + p4(out); per LayerNorm 20 + 8n + p4(n); low-rank cell:
    # 8 + V (a Linear W -> r) + 28W (diagonal, U and drive multipliers, U bias, bias, keep and
    # gain) + 5 p4(W) (their shifts) + p4(W*r) (U) + 256 (tanh)
    def p4(n):
        return -(-n // 4) * 4

    def linear(i, o):
        return 12 + p4(i * o) + 8 * o + p4(o)

    w, r = 3, 1
    linears = sum(linear(i, o) for i, o in ((6, 5), (5, 3), (3, 4), (4, 2), (2, 2)))
    norms = sum(20 + 8 * n + p4(n) for n in (5, 3, 4))
    cell = 8 + linear(w, r) + 28 * w + 5 * p4(w) + p4(w * r) + 256
    expected = 120 + 256 + 20 + linears + norms + cell
    x = 0.9 + 0.01 * np.random.default_rng(0).standard_normal((20, 6))
    blob = to_bytes(quantize(m, Scaler("anchored", 0.2, anchor_len=3), x))
    assert costs(m)["int8_bytes"] == expected == len(blob)
    # the quadratic scaling stores its parabola: 3 x trend_len int32 weights and 3 shifts
    quadratic = Scaler("quadratic", 0.2, anchor_len=3, trend_len=5)
    blob = to_bytes(quantize(m, quadratic, x))
    assert costs(m, quadratic)["int8_bytes"] == expected + 12 * 5 + 12 == len(blob)
    # a signal: its offset, multiplier and shift (4 bytes each, padded), and a column of enc_in
    s = net.LiquidNet(net.student_config(3, 5, 4, 2, rank=1, input_len=6, output_len=2,
                                         signals=1)).eval()
    with_cycle = Scaler("anchored", 0.2, anchor_len=3,
                        signals=[{"name": "cycle", "unit": "cycles", "offset": 50, "scale": 40.0}])
    blob = to_bytes(quantize(s, with_cycle, np.c_[np.arange(20.0), x]))
    assert costs(s, with_cycle)["int8_bytes"] == expected + 12 + linear(7, 5) - linear(6, 5) \
        == len(blob)


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


def apart(total, dof=10 ** 6):
    """Noise split evenly in its two parts, estimated with `dof` degrees of freedom (by default
    so many that the t quantile is the normal one, 1.645 at 95%)."""
    return Noise(total, total / np.sqrt(2), total / np.sqrt(2), dof, dof, dof)


def test_within_noise_takes_the_cheapest_candidate_the_seeds_cannot_tell_from_the_best():
    error = np.array([0.0100, 0.0103, 0.0200, 0.0110])
    runs = np.array([3, 3, 3, 3])
    cost = np.array([9000, 3000, 500, 2500])
    lineages = np.array(["a", "b", "c", "d"])
    # noise 3% per run: the standard error of a 3-run difference is about 2.5e-4, so 0.0103
    # (1.2 SE above the best) is within 1.645 SE and 0.0110 (3.9 SE) is not
    pick, best, margin = within_noise(error, runs, cost, lineages, apart(0.03), 0.95)
    assert (pick, best) == (1, 0)
    assert margin[0] == pytest.approx(1.645, abs=1e-3) and margin[3] < 0 < margin[1]
    # with more noise 0.0110 is within too, and cheaper
    assert within_noise(error, runs, cost, lineages, apart(0.10), 0.95)[0] == 3
    # more runs shrink the standard error: at 30 runs 0.0103 is 3.8 SE above the best
    assert within_noise(error, runs * 10, cost, lineages, apart(0.03), 0.95)[0] == 0
    # a noise estimated from few runs is uncertain itself: the t quantile widens the band
    # (1 degree of freedom: 6.31 SE), and 0.0110 at 3.9 SE is in
    pick, _, margin = within_noise(error, runs, cost, lineages, apart(0.03, dof=1), 0.95)
    assert pick == 3 and margin[0] == pytest.approx(6.314, abs=1e-3)


def test_a_lineage_compares_seed_by_seed():
    """Pruned models of one student share each seed's student: only their own noise separates
    them, so a small but consistent loss is significant within a lineage and not across."""
    error, runs, cost = np.array([0.0100, 0.0104]), np.array([3, 3]), np.array([7000, 5000])
    noise = Noise(0.03, 0.028, 0.01, 10 ** 6, 10 ** 6, 10 ** 6)    # mostly shared by a lineage
    assert within_noise(error, runs, cost, np.array(["h4", "h9"]), noise, 0.95)[0] == 1
    pick, _, margin = within_noise(error, runs, cost, np.array(["h4", "h4"]), noise, 0.95)
    assert pick == 0 and margin[1] < -1
    var = difference_variance(error, runs, np.array(["h4", "h4"]), noise, 0)
    assert var[1] == pytest.approx((0.01 ** 2 * (0.0104 ** 2 + 0.0100 ** 2)
                                    + 0.028 ** 2 * 0.0004 ** 2) / 3)


def test_a_baseline_is_deployed_unless_a_network_is_significantly_better():
    cost = np.array([936, 5000, 6000])
    runs = np.array([np.inf, 3, 3])
    lineages = np.array(["quadratic", "h4", "h8"])
    # the networks are not significantly better than the parabola: the cheap parabola wins
    assert within_noise(np.array([0.00300, 0.00295, 0.00292]), runs, cost, lineages,
                        apart(0.03), 0.95)[0] == 0
    # they are: the cheaper network within noise of the better one
    assert within_noise(np.array([0.00500, 0.00295, 0.00292]), runs, cost, lineages,
                        apart(0.03), 0.95)[0] == 1
    # two deterministic candidates: only an exact tie counts as equal
    pick, _, margin = within_noise(np.array([0.003, 0.0029]), np.array([np.inf, np.inf]),
                                   np.array([100, 200]), np.array(["a", "b"]), apart(0.03), 0.95)
    assert pick == 1 and margin.tolist() == [-np.inf, np.inf]


def test_stability_counts_how_often_a_rerun_keeps_the_choice():
    """A rerun moves each trained candidate's mean by its own noise, so the difference to the
    best moves by sqrt(2) standard errors: the cheaper of two equal networks stays chosen with
    probability Phi(1.645 / sqrt(2)) = 0.88, one right at the threshold half the time."""
    from scipy.stats import norm

    cost, runs = np.array([5000, 3000, 1000]), np.array([3, 3, np.inf])
    lineages, noise = np.array(["a", "b", "q"]), apart(0.03)
    choose = lambda e: within_noise(e, runs, cost, lineages, noise, 0.95)[0]   # noqa: E731
    equal = np.array([0.0029, 0.0029, 0.0050])
    held, shares = stability(choose, equal, runs, lineages, noise, 4000, seed=0)
    assert choose(equal) == 1 and sum(shares.values()) == pytest.approx(1.0)
    assert held == pytest.approx(norm.cdf(1.645 / np.sqrt(2)), abs=0.02)
    se = 0.03 * 0.0029 * np.sqrt(2 / 3)
    edge = np.array([0.0029, 0.0029 + 1.645 * se, 0.0050])
    assert stability(choose, edge, runs, lineages, noise, 4000, seed=0)[0] == pytest.approx(
        0.5, abs=0.05)
    far = np.array([0.0029, 0.0029 + 10 * se, 0.0050])
    assert choose(far) == 0
    assert stability(choose, far, runs, lineages, noise, 4000, seed=0)[0] == 1.0
    # deterministic candidates never move
    assert stability(choose, np.array([0.004, 0.005, 0.003]), np.array([np.inf] * 3),
                     lineages, noise, 100, seed=0)[0] == 1.0


def test_knee_of_error_against_log_cost():
    # error and log-cost scaled to [0, 1]; the point furthest below the line from the cheapest
    # (row 2) to the most accurate (row 0) is row 3 (0.0104 at 2500 bytes)
    assert knee([0.010, 0.0103, 0.02, 0.0104], [9000, 3000, 500, 2500]) == 3


def test_a_knee_with_a_baseline_of_no_parameters_is_the_same_in_any_order():
    # cost: params, where a polynomial baseline has none (log 0 made every distance NaN and the
    # first row won); the bend is the 1,000-parameter model
    error, cost = np.array([0.004, 0.0012, 0.001]), np.array([0, 1000, 5000])
    assert knee(error, cost) == 1
    assert knee(error[::-1], cost[::-1]) == 1


def test_seed_noise_by_hand():
    """Two lineages: h4 and its pruned h4_p0.5 move together from seed to seed, h8 alone."""
    runs = pd.DataFrame({
        "name": ["h4"] * 3 + ["h4_p0.5"] * 3 + ["h8"] * 2 + ["teacher"],
        "seed": [1, 2, 3, 1, 2, 3, 1, 2, 1],
        "val_mae": [1.0, 1.2, 0.8, 2.0, 2.5, 1.5, 3.0, 3.3, 9.0]})
    noise = estimate(runs)
    r4, r5 = np.array([0, 0.2, -0.2]), np.array([0, 0.25, -0.25])
    r8 = np.array([3.0, 3.3]) / 3.15 - 1
    total2 = ((r4 ** 2).sum() + (r5 ** 2).sum() + (r8 ** 2).sum()) / (2 + 2 + 1)
    own2 = ((r4 - (r4 + r5) / 2) ** 2 + (r5 - (r4 + r5) / 2) ** 2).sum() / (1 * 2)
    assert (noise.dof_total, noise.dof_own, noise.dof_shared) == (5, 2, 2 + 1 + 0)
    assert noise.failed == []
    assert noise.total == pytest.approx(np.sqrt(total2))
    assert noise.own == pytest.approx(np.sqrt(own2))
    assert noise.shared == pytest.approx(np.sqrt(total2 - own2))
    assert lineage("h4-tiny_p0.3") == "h4-tiny" and lineage("teacher") == "teacher"
    with pytest.raises(ValueError):
        estimate(runs[runs["name"] == "teacher"])


def test_a_comparison_between_lineages_has_the_degrees_of_freedom_of_its_parts():
    """Five candidates of one lineage and one of another, 3 seeds each: 12 runs' worth of
    deviations, but the shared part, which a comparison between the lineages carries, is known
    from 2 x 2 lineage-seed values; Welch-Satterthwaite weighs the two estimates."""
    noise = Noise(0.083, 0.080, 0.022, 12, 8, 4)
    own2, shared2 = 0.022 ** 2, 0.080 ** 2
    expected = (own2 + shared2) ** 2 / (own2 ** 2 / 8 + shared2 ** 2 / 4)
    assert noise.dof_between == pytest.approx(expected) and 4 < noise.dof_between < 5
    # the t quantile a comparison between the lineages uses: 2.1 at 95%, not 1.78 (12 dof)
    error, runs, cost = np.array([0.0100, 0.0114]), np.array([3, 3]), np.array([7000, 5000])
    se = np.sqrt(difference_variance(error, runs, np.array(["h4", "h8"]), noise, 0))[1]
    margin = within_noise(error, runs, cost, np.array(["h4", "h8"]), noise, 0.95)[2][1]
    assert margin == pytest.approx(student_t.ppf(0.95, expected) - 0.0014 / se)
    # all of it shared or all of it own: the one estimate's own degrees of freedom
    assert Noise(0.05, 0.05, 0.0, 12, 8, 4).dof_between == pytest.approx(4)
    assert Noise(0.05, 0.0, 0.05, 12, 8, 4).dof_between == pytest.approx(8)


def seed_runs(rng, names, seeds=(42, 43, 44), noise=0.03, level=0.002):
    return pd.DataFrame([{"name": n, "seed": s, "val_mae": level * (1 + noise * rng.standard_normal())}
                         for n in names for s in seeds])


def test_a_failed_training_run_is_reported_and_left_out_of_the_noise():
    rng = np.random.default_rng(0)
    names = [f"h{w}-tiny_p0.{r}" for w in (4, 8, 16) for r in (2, 5)]
    clean = seed_runs(rng, names)
    assert failed_runs(clean) == []
    runs = clean.copy()
    runs.loc[7, "val_mae"] *= 1.8            # one run that did not train: 1.8 x its candidate's
    assert failed_runs(runs) == [7]
    noise = estimate(runs)
    assert noise.total == pytest.approx(estimate(clean.drop(index=7)).total)
    assert noise.total < 0.05 < _estimate(runs).total      # with the failed run: ~4x the noise
    assert noise.failed == [{"name": runs.loc[7, "name"], "seed": int(runs.loc[7, "seed"]),
                             "val_mae": runs.loc[7, "val_mae"],
                             "others_best": runs.loc[[6, 8], "val_mae"].min()}]
    assert noise.dof_total == 11
    # a seed that moves a lineage holding most finalists (as h16-tiny's seed 43 on cells, at
    # f7b6708) is the noise itself: the other candidates vary as much
    lineage = seed_runs(rng, [f"h16-tiny_p0.{r}" for r in (2, 4, 5, 6)] + names[:2])
    lineage.loc[lineage["name"].str.startswith("h16") & (lineage["seed"] == 43), "val_mae"] *= 1.15
    assert failed_runs(lineage) == []
    # two failed runs of three: each is far above the one that trained (a residual network
    # collapsed to its parabola, as h4-tiny_p0.9 on cells at 7e5e211)
    two = clean.copy()
    two.loc[[6, 7], "val_mae"] *= 1.85
    assert sorted(failed_runs(two)) == [6, 7]
    assert estimate(two).total == pytest.approx(estimate(clean.drop(index=[6, 7])).total)
    # a run much better than its others is never the failed one
    better = clean.copy()
    better.loc[7, "val_mae"] *= 0.6
    assert 7 not in failed_runs(better)


def test_a_model_beaten_at_no_more_cost_is_never_deployed():
    """The margins differ in width: a baseline has no noise of its own and a pair of one lineage
    compares seed by seed, so a network can lie inside the best one's band while a cheaper,
    more accurate candidate lies outside it. The rule then takes neither the beaten network nor
    the baseline, but the best (the cells pool of a real run, its parabola moved to 0.00250)."""
    error = np.array([0.002330, 0.002524, 0.002500])
    runs = np.array([3, 3, np.inf])
    cost = np.array([8160, 5248, 928])
    lineages = np.array(["h16-tiny", "h4-tiny", "quadratic"])
    noise = Noise(0.06, 0.019, 0.057, 12, 4, 6)
    pick, best, margin = within_noise(error, runs, cost, lineages, noise, 0.95)
    assert margin[1] >= 0 > margin[2]           # the network within the band, the baseline not
    assert dominated_by(error, cost).tolist() == [-1, 2, -1]
    assert (pick, best) == (0, 0)
    # a parabola a little worse than the network beats it no longer, and the network is taken
    assert within_noise(np.array([0.002330, 0.002524, 0.002530]), runs, cost, lineages, noise,
                        0.95)[0] == 1
    # ties: the cheaper of two equally good candidates beats the other; equal in both, neither
    assert dominated_by([1.0, 1.0, 2.0], [5, 3, 3]).tolist() == [1, -1, 1]
    assert dominated_by([1.0, 1.0], [3, 3]).tolist() == [-1, -1]


def test_a_finalist_no_seed_of_which_can_be_deployed_is_left_out_of_the_choice():
    runs = pd.DataFrame({"name": ["a", "a", "b", "b", "c", "c", "d", "d"],
                         "seed": [42, 43] * 4,
                         "val_mae": [0.1, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1, np.nan],
                         "int8_bytes": [8000, 9000, 9000, 9500, 100, 100, 100, 100],
                         "int8_quantization": [0.01, 0.0, 0.0, 0.0, 0.06, 0.08, 0.0, 0.0]})
    out = undeployable(runs, 8192, 0.05)
    assert sorted(out) == ["b", "c", "d"]
    assert "8,192 int8 bytes" in out["b"]
    assert "+6.0%, +8.0%" in out["c"] and "deploy.int8_tolerance" in out["c"]
    assert "seed 43 diverged" in out["d"] and "mean is unknown" in out["d"]
    assert sorted(undeployable(runs, None, None)) == ["d"]
    # a loss the gate cannot measure (NaN) passes no gate: quantize would refuse it too
    unmeasured = runs.assign(int8_quantization=np.nan)
    assert "c" in undeployable(unmeasured, None, 0.05)


def test_the_deployed_seed_is_the_best_one_within_the_byte_limit_and_the_int8_gate():
    """Pruning may leave one seed of a candidate larger than the first: it is deployed only if
    it fits the protocol's limit. A seed whose int8 form loses more than the gate of rule
    quantize allows is not deployed either, so that quantize accepts what select chose."""
    runs = pd.DataFrame({"name": ["a", "a", "a", "b"], "seed": [42, 43, 44, 42],
                         "val_mae": [0.3, 0.1, 0.2, 0.05], "int8_bytes": [8000, 8300, 7900, 90],
                         "int8_quantization": [0.01, 0.02, 0.07, 0.0]})
    assert deployed_run(runs, "a", None, None, "candidates.csv")["seed"] == 43
    assert deployed_run(runs, "a", 8192, None, "candidates.csv")["seed"] == 44
    assert deployed_run(runs, "a", 8192, 0.05, "candidates.csv")["seed"] == 42
    with pytest.raises(InputError, match="candidates.max_int8_bytes") as e:
        deployed_run(runs, "a", 7000, 0.05, "candidates.csv")
    assert "candidates.csv" in str(e.value) and "7000" in str(e.value)
    with pytest.raises(InputError, match="deploy.int8_tolerance") as e:
        deployed_run(runs, "a", 8192, 0.005, "candidates.csv")
    assert "+1.0%, +7.0%" in str(e.value) and "+0.5%" in str(e.value)


def test_a_seed_slower_than_the_latency_limit_is_not_deployed():
    """Pruning may leave a finalist's seeds in other shapes, with other latencies: a finalist
    none of whose seeds runs within candidates.max_latency_ms is left out, and a slow seed of
    another is not the one deployed."""
    runs = pd.DataFrame({"name": ["a", "a", "b", "b"], "seed": [42, 43] * 2,
                         "val_mae": [0.1, 0.2, 0.1, 0.1], "int8_bytes": [6000, 6100, 8000, 8000],
                         "int8_quantization": [0.0] * 4,
                         "latency_ms": [0.52, 0.48, 0.53, 0.56]})
    out = undeployable(runs, 8192, 0.05, max_latency_ms=0.5)
    assert list(out) == ["b"] and "0.5 ms" in out["b"] and "0.530-0.560 ms" in out["b"]
    assert undeployable(runs, 8192, 0.05) == {}
    assert deployed_run(runs, "a", 8192, 0.05, "candidates.csv")["seed"] == 42
    assert deployed_run(runs, "a", 8192, 0.05, "candidates.csv", max_latency_ms=0.5)["seed"] == 43
    with pytest.raises(InputError, match="max_latency_ms") as e:
        deployed_run(runs, "b", 8192, 0.05, "candidates.csv", max_latency_ms=0.5)
    assert "0.5 ms" in str(e.value)


def test_a_candidate_slower_than_the_latency_limit_is_not_eligible():
    """Rule latency's high estimate joins the candidates by name; over the limit, or not timed,
    a candidate leaves the front, whatever its kind."""
    from dlnet.candidates import eligible, with_latency

    frame = pd.DataFrame({"name": ["a", "b", "q", "r", "t"], "stage": ["student"] * 2 + ["x"] * 3,
                          "kind": ["liquid", "liquid", "polynomial", "linear", "liquid"],
                          "int8_bytes": [6000, 7000, 900, 9000, 6000]})
    latency = pd.DataFrame({"name": ["a", "b", "q", "b"], "latency_ms_high": [0.4, 0.6, 0.1, 0.6]})
    timed = with_latency(frame, latency)
    assert timed["latency_ms"].tolist()[:3] == [0.4, 0.6, 0.1]
    assert timed["latency_ms"].isna()[3:].all()
    cfg = {"baselines": True, "max_int8_bytes": 8192}
    assert eligible(timed, cfg).tolist() == [True, True, True, False, True]
    assert eligible(timed, {**cfg, "max_latency_ms": 0.5}).tolist() == [True, False, True, False,
                                                                         False]
    with pytest.raises(ValueError, match="rule latency"):
        eligible(frame, {**cfg, "max_latency_ms": 0.5})


def test_what_a_protocol_may_deploy():
    """candidates.eligible: the kinds the protocol lets compete, the teacher unless `teacher` is
    false (the paper's own choice among its students), each within the byte limit."""
    from dlnet.candidates import eligible

    frame = pd.DataFrame({
        "name": ["teacher", "h4", "h4_p0.5", "quadratic (k=30)", "quadratic (k=3)",
                 "ridge (alpha=1, int8)", "knn (components=8, neighbours=5)"],
        "stage": ["teacher", "student", "recovered", "baseline", "baseline", "learned", "learned"],
        "kind": ["liquid", "liquid", "liquid", "polynomial", "reference", "linear", "knn"],
        "int8_bytes": [170_000, 9_000, 6_000, 448, 124, 11_000, 150_000]})
    assert eligible(frame, {"baselines": False}).tolist() == [1, 1, 1, 0, 0, 0, 0]
    assert eligible(frame, {"baselines": False, "teacher": False}).tolist() == [0, 1, 1, 0, 0, 0, 0]
    assert eligible(frame, {"baselines": True}).tolist() == [1, 1, 1, 1, 0, 1, 0]
    assert eligible(frame, {"baselines": True, "max_int8_bytes": 8192}).tolist() == \
        [0, 0, 1, 1, 0, 0, 0]


def test_the_finalists_are_the_most_accurate_and_the_cheapest_near_it():
    """The rule deploys the cheapest model within the noise of the best, so the cheap networks
    near the best are retrained, not only the most accurate (which are the largest)."""
    from dlnet.pareto import finalists

    error = [0.00221, 0.00225, 0.00230, 0.00234, 0.00240, 0.00255, 0.00295]
    cost = [8160, 6872, 6356, 6116, 5900, 5248, 5172]
    # within 25% of 0.00221: all but the last; the best, then the 3 cheapest of them
    assert finalists(error, cost, 4, 0.25) == [0, 3, 4, 5]
    assert finalists(error, cost, 4, 0.05) == [0, 1, 2]       # the band holds only three
    assert finalists(error, cost, 1, 0.25) == [0]
    assert finalists(error, cost, 10, 0.5) == list(range(7))
    assert finalists([], [], 6, 0.25) == []
    # equal costs: the more accurate first
    assert finalists([0.010, 0.012, 0.011], [9000, 5000, 5000], 2, 0.25) == [0, 2]


def test_the_summary_says_what_the_latency_limit_held_the_deployed_model_to(tmp_path):
    """Beside firmware_m4's figure on held-out windows, which can differ by a few cycles from the
    one the limit read: when it crosses the limit, the summary says so."""
    from dlnet.summary import latency_note

    gated = {"max_latency_ms": 0.5, "latency_ms": {"low": 0.46, "high": 0.4999}}
    report = tmp_path / "m4_report.json"
    report.write_text(json.dumps({"latency_ms": {"low": 0.46, "high": 0.4995}}))
    text = latency_note(gated, report)
    assert "0.5 ms" in text and "0.500 ms on validation windows" in text
    assert "0.499 ms" in text and "over the limit" not in text
    report.write_text(json.dumps({"latency_ms": {"low": 0.46, "high": 0.5003}}))
    assert "over the limit" in latency_note(gated, report)
    assert latency_note({"max_latency_ms": None, "latency_ms": None}, report) == ""


def test_the_summary_names_a_more_frequent_rerun_choice_and_an_uncompeting_better_baseline(tmp_path):
    """The selection's sentence names the model the reruns choose more often than the deployed
    one, leaves the deployed one out of the alternatives, and, when the baselines do not compete
    (paper, as published), says how far the selected model lies behind the best of them."""
    from dlnet.summary import selection_text

    noise = {"relative_std": 0.08, "own": 0.05, "shared": 0.06, "dof": 12, "dof_own": 6,
             "dof_between": 11.7, "runs": 3, "finalists": ["h32", "h32_p0.1"], "failed": []}
    selected = {"name": "h32_p0.1", "kind": "liquid", "seed": 44, "reason": "cheapest",
                "val_mae_mean": 0.0029, "rule": {"cost": "int8_bytes"}, "noise": noise,
                "undeployable": {"h128": "no seed fits in 8,192 int8 bytes"},
                "stability": {"held": 0.25, "draws": 2000, "shares": {"h32": 0.42, "h32_p0.1": 0.25},
                              "val_mae_spread": 0.1, "int8_bytes_range": [101392, 101392],
                              "most_chosen": "h32"}}
    candidates = tmp_path / "candidates.csv"
    pd.DataFrame({"name": ["quadratic (k=30, int8)", "h32_p0.1"], "stage": ["baseline", "recovered"],
                  "kind": ["polynomial", "liquid"], "int8_bytes": [448, 89324],
                  "val_mae": [0.00126, 0.0029], "eligible": [False, True]}).to_csv(candidates,
                                                                                     index=False)
    text = selection_text(selected, candidates_csv=candidates)
    assert "they choose h32 more often (42%)" in text
    assert "101,392-101,392 int8 bytes" in text
    assert "Left out of the choice: h128 (no seed fits" in text
    assert "quadratic (k=30, int8) (448 int8 bytes), scores 0.00126" in text and "2.30 x" in text
    # the baselines compete: no such sentence; no alternative at all: said so
    pd.DataFrame({"name": ["quadratic (k=30, int8)"], "stage": ["baseline"], "kind": ["polynomial"],
                  "int8_bytes": [448], "val_mae": [0.00126], "eligible": [True]}).to_csv(
                      candidates, index=False)
    alone = {**selected, "stability": {**selected["stability"], "int8_bytes_range": None,
                                       "most_chosen": "h32_p0.1"}}
    text = selection_text(alone, candidates_csv=candidates)
    assert "do not compete" not in text and "more often" not in text
    assert "no other model is chosen in as many as 1% of them" in text


def test_the_summary_names_the_learned_references_ahead_of_the_selected_model(tmp_path):
    """Ridge in float and kNN better on validation than the deployed model: the summary says so,
    with ridge's int8 score and what keeps kNN off the device; none ahead, no sentence."""
    from dlnet.summary import learned_ahead

    candidates = tmp_path / "candidates.csv"
    pd.DataFrame({"name": ["ridge (alpha=0.0001)", "ridge (alpha=0.01, int8)",
                           "knn (components=16, neighbours=2)", "h4-tiny_p0.6"],
                  "stage": ["learned", "learned", "learned", "recovered"],
                  "kind": ["reference", "linear", "knn", "liquid"],
                  "int8_bytes": [11160, 11160, 155032, 4964],
                  "val_mae": [0.00038, 0.00073, 0.00046, 0.00063]}).to_csv(candidates, index=False)
    text = learned_ahead(candidates, {"val_mae_mean": 0.0006})
    assert text.index("ridge (alpha=0.0001) scores 0.00038") < text.index("knn (")
    assert "0.63 x the selected model's mean, in float" in text
    assert "ridge (alpha=0.01, int8), scores 0.00073 (11,160 int8 bytes)" in text
    assert "stores its training windows (155,032 int8 bytes)" in text
    assert learned_ahead(candidates, {"val_mae_mean": 0.0003}) == ""


def test_the_selection_table_reads_a_pareto_csv_written_before_it_had_paired_and_beaten_by(tmp_path):
    """A results tree from before: select is not rerun (its inputs did not change), summary is."""
    from dlnet.summary import finalists_table

    old = tmp_path / "pareto.csv"
    pd.DataFrame({"name": ["h16-tiny", "quadratic (k=70, int8)"], "kind": ["liquid", "polynomial"],
                  "int8_bytes": [8160, 928], "runs": [3, np.inf], "val_mae_mean": [0.002, 0.003],
                  "val_mae_min": [0.0019, 0.003], "val_mae_max": [0.0021, 0.003],
                  "margin_se": [1.7, -8.0], "chosen_share": [1.0, 0.0],
                  "selected": [True, False]}).to_csv(old, index=False)
    table = finalists_table(old)
    assert table["paired"].tolist() == ["", ""] and table["beaten_by"].tolist() == ["", ""]
    assert table["within_noise"].tolist() == ["yes", ""]


def test_a_byte_limit_below_the_smallest_baseline_fails_before_anything_trains():
    import copy

    from dlnet.candidates import check_limits
    from dlnet.config import load

    config = load()
    check_limits(config)                                   # the shipped limits: 8 kB
    tight = copy.deepcopy(config)
    tight["protocols"]["cells"]["candidates"]["max_int8_bytes"] = 99
    with pytest.raises(InputError, match="column 'protocols.cells.candidates.max_int8_bytes': "
                       "protocol cells allows 99 int8 bytes.*persistence \\(100 bytes\\)"):
        check_limits(tight)
    tight["protocols"]["cells"]["candidates"]["max_int8_bytes"] = 100   # persistence fits
    check_limits(tight)


def test_cell_sums_average_a_finalists_runs_and_score_a_baseline_as_the_core_does():
    from dlnet.baselines import int8_forecast
    from dlnet.intervals import per_cell, window_mae
    from dlnet.run.select import cell_sums
    from dlnet.windows import WindowSet

    rng = np.random.default_rng(0)
    x = 0.95 - 0.0005 * np.arange(10)[None, :] + 0.001 * rng.random((6, 1))   # 6 windows, 10 in
    y = x[:, -1:] - 0.0005 * np.arange(1, 5)[None, :]                           # 4 out
    val = WindowSet(x, y, ["a", "a", "b", "b", "b", "c"], np.zeros(6))
    runs = pd.DataFrame({"name": ["m", "m", "other"]})
    windows = [rng.random(6), rng.random(6), rng.random(6)]
    poly = window_mae(y, int8_forecast(x, 3, 2, 4))
    pool = pd.DataFrame({"name": ["m", "quadratic (k=3, int8)"], "kind": ["liquid", "polynomial"],
                         "fit_len": [np.nan, 3], "degree": [np.nan, 2],
                         "val_mae_mean": [(windows[0].mean() + windows[1].mean()) / 2,
                                          poly.mean()]})
    sums, counts = cell_sums(pool, runs, windows, val, ridge=None)
    assert counts.tolist() == [2, 3, 1]
    expected = (per_cell(val.cell, windows[0])[0] + per_cell(val.cell, windows[1])[0]) / 2
    assert sums[0] == pytest.approx(expected) and sums[1] == pytest.approx(per_cell(val.cell, poly)[0])
    pool.loc[0, "val_mae_mean"] *= 1.01                     # not what the runs add up to
    with pytest.raises(ValueError, match="do not add up"):
        cell_sums(pool, runs, windows, val, ridge=None)
