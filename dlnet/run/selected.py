"""What every deploy rule starts from: the protocol's windows and the Pareto-selected model."""

from pathlib import Path

from dlnet import model as net
from dlnet.errors import InputError
from dlnet.io import read_json
from dlnet.run.train_common import load_data


def load(input):
    """(splits, model, scaler, model path) for a rule with inputs dataset, info, selected, model;
    the checkpoint is checked against selected.json and against the protocol's data."""
    splits, data_scaler = load_data(input.dataset, input.info)
    model_path = read_json(input.selected).get("model")
    if not model_path:
        raise InputError(input.selected, "has no 'model' entry", "rerun the pareto rule")
    declared = getattr(input, "model", None)
    if declared and Path(declared).resolve() != Path(model_path).resolve():
        raise InputError(input.selected, f"names {model_path}, but the rule was planned with "
                         f"{declared}", "rerun snakemake so that it re-reads selected.json")
    model, scaler, _ = net.load(model_path)
    if scaler.to_dict() != data_scaler.to_dict():
        raise InputError(model_path, f"was trained with scaling {scaler.to_dict()}, but "
                         f"{input.info} has {data_scaler.to_dict()}",
                         "deploy a model of this protocol (rerun its training rules)")
    train = splits["train"]
    if (model.cfg.input_len, model.cfg.output_len) != (train.x.shape[1], train.y.shape[1]):
        raise InputError(model_path, f"maps {model.cfg.input_len} -> {model.cfg.output_len} values "
                         f"but the windows are {train.x.shape[1]} -> {train.y.shape[1]}",
                         "deploy a model trained on this protocol")
    return splits, model, scaler, model_path
