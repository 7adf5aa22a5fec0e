"""The metrics.json every model folder holds: errors per split, cost, seed, versions."""

from dlnet.cost import costs
from dlnet.io import versions
from dlnet.metrics import all_splits
from dlnet.training import predict


def model_metrics(model, scaler, splits, **extra):
    return {**extra, **costs(model, scaler),
            **all_splits(splits, lambda x: predict(model, scaler, x)),
            "versions": versions()}
