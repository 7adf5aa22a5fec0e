"""Learned references with scikit-learn: ridge regression and PCA + k nearest neighbours.

Both see what the liquid networks see: the protocol's training windows (and signals, if it has
any) under its scaling, so with
the quadratic scaling they learn the correction to the parabola, and both forecast through the
same Scaler.inverse. Their hyperparameters come from a small grid, each setting scored on the
validation windows only; the scores of every setting are kept, as the baselines keep theirs.

Their cost, as the Pareto table counts it:
  ridge  a deployable model: its coefficients as one int8 layer (qmodel.quantize_linear), so its
         bytes are the blob the C core runs, and its MACs input_len x output_len. Its errors are
         kept in float and as the int8 core computes them (`int8`, whose alpha is chosen on
         the int8 validation MAE: the deployable, ridge.npz).
  knn    not deployable: it stores the training windows. Its bytes are what an int8 store would
         hold (the PCA basis, and per training window its coordinates and its targets), its MACs
         the projection, the distance to every stored window and the average of the neighbours.
"""

from typing import NamedTuple

from sklearn.decomposition import PCA
from sklearn.linear_model import Ridge
from sklearn.neighbors import KNeighborsRegressor

from dlnet.cost import trend_len, trend_macs
from dlnet.deployable import Linear
from dlnet.metrics import all_splits, errors


def _scaled(window_set, scaler):
    return scaler.transform(window_set.inputs), scaler.scale_targets(window_set.x, window_set.y)


class RidgeForecaster:
    """Ridge regression fitted on scaled windows; it forecasts as, and deploys as, the linear
    model it fits (deployable.Linear)."""

    kind = "linear"

    def __init__(self, scaler, alpha):
        self.scaler, self.alpha = scaler, float(alpha)

    def fit(self, train):
        ridge = Ridge(alpha=self.alpha, solver="cholesky").fit(*_scaled(train, self.scaler))
        self.linear = Linear(ridge.coef_, ridge.intercept_, self.scaler)
        self.weight, self.bias = self.linear.weight, self.linear.bias
        return self

    def predict(self, x):
        return self.linear.predict(x)

    def int8_predict(self, x):
        """As the int8 core computes it: one int8 layer (qmodel.quantize_linear)."""
        from dlnet.quant import reference

        return reference.predict(self.linear.quantize(), x)

    def cost(self):
        return {k: v for k, v in self.linear.costs().items() if k != "float32_bytes"}


class KnnForecaster:
    """The mean correction of the `neighbours` training windows nearest in the first
    `components` principal components of the scaled input, weighted by inverse distance."""

    kind = "knn"

    def __init__(self, scaler, components, neighbours):
        self.scaler, self.components, self.neighbours = scaler, int(components), int(neighbours)

    def fit(self, train):
        xs, ys = _scaled(train, self.scaler)
        self.pca = PCA(min(self.components, *xs.shape), svd_solver="full").fit(xs)
        self.knn = KNeighborsRegressor(min(self.neighbours, len(xs)), weights="distance")
        self.knn.fit(self.pca.transform(xs), ys)
        self.n_train, self.n_in, self.n_out = len(xs), xs.shape[1], ys.shape[1]
        return self

    def predict(self, x):
        z = self.knn.predict(self.pca.transform(self.scaler.transform(x)))
        return self.scaler.inverse(x, z)

    def cost(self):
        k = self.pca.n_components_
        stored = self.n_train * (k + self.n_out)
        return {"params": int(k * self.n_in + stored),
                "macs": int(k * self.n_in + self.n_train * k + self.knn.n_neighbors * self.n_out)
                + trend_macs(trend_len(self.scaler), self.n_out),
                "int8_bytes": int(k * self.n_in + stored)}


def grid(learned_cfg):
    """name -> list of (setting dict, constructor(scaler))."""
    return {
        "ridge": [({"alpha": a}, lambda s, a=a: RidgeForecaster(s, a))
                  for a in learned_cfg["ridge"]["alpha"]],
        "knn": [({"components": c, "neighbours": k},
                 lambda s, c=c, k=k: KnnForecaster(s, c, k))
                for c in learned_cfg["knn"]["components"] for k in learned_cfg["knn"]["neighbours"]],
    }


def setting_name(setting):
    return ", ".join(f"{k} {v:g}" for k, v in setting.items())


class Fitted(NamedTuple):
    """One learned reference: the setting best in float on validation (`model`), its record, and
    for ridge the setting best as the int8 core computes it (`int8_model`, the deployable)."""
    model: object
    record: dict
    int8_model: object = None


def grid_edges(settings, chosen):
    """The hyperparameters of `chosen` at the smallest or largest value their grid tries: the
    optimum may lie beyond it, so the grid should be widened."""
    out = []
    for key, value in chosen.items():
        values = sorted({s[key] for s, _ in settings})
        if len(values) > 1 and value in (values[0], values[-1]):
            out.append(f"{key} {value:g} is the {'smallest' if value == values[0] else 'largest'} "
                       "value of its grid")
    return out


def _best(fitted, scores):
    return min(fitted, key=lambda sm: scores[setting_name(sm[0])])


def evaluate(splits, scaler, learned_cfg, log=print):
    """{name: Fitted}; the record has the setting, every setting's validation MAE, the cost, the
    metrics of every split but train and the settings at an edge of their grid. Ridge's int8
    record is that of the setting whose int8 forecast is best on validation: small alphas fit
    the smoothed windows' fine differences with large coefficients of alternating sign, which
    int8 weights on Q1.14 inputs cannot hold, so the float choice may be useless in int8."""
    train, val = splits["train"], splits["val"]
    out = {}
    for name, settings in grid(learned_cfg).items():
        fitted, scores, int8_scores = [], {}, {}
        for setting, make in settings:
            model = make(scaler).fit(train)
            key = setting_name(setting)
            scores[key] = errors(val.y, model.predict(val.inputs))["mae"]
            text = f"{name} {key}: val MAE {scores[key]:.6f}"
            if hasattr(model, "int8_predict"):
                int8_scores[key] = errors(val.y, model.int8_predict(val.inputs))["mae"]
                text += f", int8 {int8_scores[key]:.6f}"
            fitted.append((setting, model))
            log(text)
        setting, model = _best(fitted, scores)
        record = {"kind": model.kind, "setting": setting, "val_mae_by_setting": scores,
                  "grid_edges": grid_edges(settings, setting),
                  **model.cost(), **all_splits(splits, model.predict)}
        int8_model = None
        if int8_scores:
            int8_setting, int8_model = _best(fitted, int8_scores)
            record["int8"] = {"setting": int8_setting, "val_mae_by_setting": int8_scores,
                              "grid_edges": grid_edges(settings, int8_setting),
                              **all_splits(splits, int8_model.int8_predict)}
        for kind, r in (("float", record), ("int8", record.get("int8"))):
            for edge in (r or {}).get("grid_edges", []):
                log(f"warning: {name}'s best setting in {kind} on validation has {edge}: widen "
                    f"baselines.learned.{name} in config.yaml")
        out[name] = Fitted(model, record, int8_model)
    return out
