"""Learned references: ridge and PCA + kNN on the models' scaled windows, chosen on validation."""

import numpy as np

from conftest import shipped_splits
from dlnet import learned
from dlnet.metrics import errors
from dlnet.quant import blob as fmt
from dlnet.quant import qmodel
from dlnet.scaling import Scaler
from dlnet.windows import WindowSet

GRID = {"ridge": {"alpha": [1e-6, 1000.0]}, "knn": {"components": [2], "neighbours": [1, 8]}}


def linear_windows(n, seed, slope_sd=1e-3, noise=0.0):
    """Straight lines: the next 10 values follow from the last 20 exactly (without noise)."""
    rng = np.random.default_rng(seed)
    t = np.arange(30)
    rows = 0.9 + rng.normal(0, slope_sd, (n, 1)) * t + noise * rng.standard_normal((n, 30))
    return WindowSet(rows[:, :20], rows[:, 20:], ["c"] * n, np.arange(n))


def test_ridge_recovers_an_exact_linear_rule_and_knn_is_costed_by_what_it_stores():
    splits = {"train": linear_windows(200, 0), "val": linear_windows(50, 1),
              "test": linear_windows(50, 2)}
    scaler = Scaler.fit("anchored", splits["train"].x, splits["train"].y, anchor_len=3)
    result = learned.evaluate(splits, scaler, GRID, log=lambda s: None)
    ridge, r, _ = result["ridge"]
    assert r["setting"] == {"alpha": 1e-6} and r["test"]["mae"] < 1e-5
    assert r["int8_bytes"] == len(fmt.to_bytes(qmodel.quantize_linear(ridge.weight, ridge.bias,
                                                                     scaler)))
    assert r["int8"]["test"]["mae"] < 1e-4            # Q1.14 inputs, int8 weights
    knn, k, knn_int8 = result["knn"]
    assert k["int8_bytes"] == 2 * 20 + 200 * (2 + 10) and k["kind"] == "knn"
    assert "int8" not in k and knn_int8 is None
    assert set(k["val_mae_by_setting"]) == {"components 2, neighbours 1",
                                            "components 2, neighbours 8"}


def test_ridge_of_one_output_forecasts_and_quantizes():
    """scikit-learn gives one output's coefficients as a vector (output_len 1 crashed)."""
    rows = linear_windows(200, 0).x
    one = {s: WindowSet(rows[:, :19], rows[:, 19:], ["c"] * len(rows), np.arange(len(rows)))
           for s in ("train", "val")}
    scaler = Scaler.fit("anchored", one["train"].x, one["train"].y, anchor_len=3)
    ridge, r, _ = learned.evaluate(one, scaler, {"ridge": {"alpha": [1e-6]}, "knn": GRID["knn"]},
                                   log=lambda s: None)["ridge"]
    assert (ridge.linear.output_len, ridge.linear.input_len) == (1, 19)
    assert r["val"]["mae"] < 1e-5 and r["int8"]["val"]["mae"] < 1e-4


def test_settings_are_chosen_on_validation_only():
    noisy_val = {"train": linear_windows(200, 0, noise=2e-3), "val": linear_windows(50, 1, noise=2e-3)}
    scaler = Scaler.fit("anchored", noisy_val["train"].x, noisy_val["train"].y, anchor_len=3)
    base = learned.evaluate({**noisy_val, "test": linear_windows(50, 2)}, scaler, GRID,
                            log=lambda s: None)
    # test splits on which another setting would win: flat noisy lines favour ridge's strong
    # shrinkage, the training windows themselves a single neighbour
    for name, odd in (("ridge", linear_windows(50, 3, slope_sd=1e-7, noise=1e-2)),
                      ("knn", noisy_val["train"])):
        by_setting = {learned.setting_name(setting): errors(odd.y, make(scaler).fit(
            noisy_val["train"]).predict(odd.x))["mae"] for setting, make in learned.grid(GRID)[name]}
        assert min(by_setting, key=by_setting.get) != learned.setting_name(base[name].record["setting"])
        other = learned.evaluate({**noisy_val, "test": odd}, scaler, GRID, log=lambda s: None)
        for n in GRID:
            assert base[n].record["setting"] == other[n].record["setting"]
            assert base[n].record["val_mae_by_setting"] == other[n].record["val_mae_by_setting"]


def test_learned_references_beat_the_parabola_on_cells_validation():
    """On the real cells windows both learn something the quadratic scaling alone misses."""
    splits, scaler = shipped_splits("cells")
    small = {s: WindowSet(w.x[::4], w.y[::4], w.cell[::4], w.start[::4])
             for s, w in splits.items() if s in ("train", "val")}
    grid = {"ridge": {"alpha": [0.1]}, "knn": {"components": [8], "neighbours": [10]}}
    result = learned.evaluate(small, scaler, grid, log=lambda s: None)
    parabola = np.abs(scaler.inverse(small["val"].x, np.zeros_like(small["val"].y))
                      - small["val"].y).mean()
    for name in grid:
        assert result[name].record["val"]["mae"] < parabola, name


def test_ridge_deploys_the_alpha_best_in_int8_and_edges_of_the_grid_are_named():
    """On the smoothed paper windows the smallest alpha is best in float, with coefficients int8
    cannot hold; the deployable is the alpha whose int8 forecast is best on validation."""
    splits, scaler = shipped_splits("paper")
    small = {s: WindowSet(w.x[::3], w.y[::3], w.cell[::3], w.start[::3])
             for s, w in splits.items() if s in ("train", "val")}
    grid = {"ridge": {"alpha": [1e-6, 1.0]}, "knn": {"components": [4], "neighbours": [5]}}
    lines = []
    ridge = learned.evaluate(small, scaler, grid, log=lines.append)["ridge"]
    r = ridge.record
    assert r["setting"] == {"alpha": 1e-6} and r["int8"]["setting"] == {"alpha": 1.0}
    assert ridge.int8_model.alpha == 1.0 and ridge.model.alpha == 1e-6
    assert r["int8"]["val"]["mae"] == min(r["int8"]["val_mae_by_setting"].values())
    assert r["int8"]["val_mae_by_setting"]["alpha 1e-06"] > 5 * r["val"]["mae"]
    assert r["grid_edges"] == ["alpha 1e-06 is the smallest value of its grid"]
    assert r["int8"]["grid_edges"] == ["alpha 1 is the largest value of its grid"]
    assert any("widen baselines.learned.ridge" in line for line in lines)
    assert learned.grid_edges([({"alpha": 1.0}, None)], {"alpha": 1.0}) == []
