import numpy as np
import pytest

from dlnet import baselines
from dlnet.windows import WindowSet


def windows(fn, n=6, n_in=30, n_out=10, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n_in + n_out)
    rows = np.array([fn(t, i) for i in range(n)]) + noise * rng.standard_normal((n, n_in + n_out))
    return WindowSet(rows[:, :n_in], rows[:, n_in:], ["c"] * n, np.arange(n))


@pytest.mark.parametrize("degree,fn", [
    (0, lambda t, i: np.full(t.shape, 0.9 + 0.01 * i)),
    (1, lambda t, i: 1.0 - 0.002 * (i + 1) * t),
    (2, lambda t, i: 1.0 - 1e-4 * t - 2e-5 * (i + 1) * t ** 2),
])
def test_each_baseline_is_exact_on_its_own_kind_of_series(degree, fn):
    w = windows(fn)
    for k in ([1] if degree == 0 else [3, 10, 30]):
        pred = baselines.polynomial_forecast(w.x, k, degree, 10)
        assert np.allclose(pred, w.y, atol=1e-12), k


def test_persistence_is_the_last_value():
    x = np.array([[1.0, 2.0, 3.0]])
    assert baselines.polynomial_forecast(x, 1, 0, 4).tolist() == [[3.0] * 4]


def test_fit_length_is_chosen_on_validation_only():
    quad = lambda t, i: 1.0 - 3e-5 * (i + 1) * t ** 2
    knee = lambda t, i: 1.0 - 1e-4 * t - 1e-3 * np.maximum(t - 26, 0) ** 2   # bends late
    noisy, clean = windows(quad, noise=2e-3), windows(quad)
    # on noisy validation data a long quadratic fit wins...
    result = baselines.evaluate({"train": clean, "val": noisy, "test": clean}, [3, 5, 30], 10)
    assert result["quadratic"]["fit_len"] == 30
    assert result["persistence"]["fit_len"] == 1
    assert result["quadratic"]["test"]["mae"] == pytest.approx(0.0, abs=1e-12)
    # ...and test windows where a short fit would win cannot change that choice
    bent = windows(knee)
    by_k = baselines.evaluate({"train": clean, "val": bent, "test": bent}, [3, 5, 30], 10)
    test_mae = {k: r["test"] for k, r in by_k["quadratic"]["by_fit_len"].items()}
    assert min(test_mae, key=test_mae.get) != "30"
    swapped = baselines.evaluate({"train": clean, "val": noisy, "test": bent}, [3, 5, 30], 10)
    assert swapped["quadratic"]["fit_len"] == 30
