"""What every deploy rule starts from: the protocol's windows and the selected model."""

from pathlib import Path

from dlnet import deployable, protocols
from dlnet.errors import InputError
from dlnet.io import read_json


def load(input):
    """(splits, Deployable, model path) for a rule with inputs dataset, info, selected, model;
    the model is checked against selected.json and against the protocol's data."""
    splits, data_scaler = protocols.load_with_scaler(input.dataset, input.info)
    chosen = read_json(input.selected)
    model_path = chosen.get("model")
    declared = getattr(input, "model", None)
    if declared and model_path and Path(declared).resolve() != Path(model_path).resolve():
        raise InputError(input.selected, f"names {model_path}, but the rule was planned with "
                         f"{declared}", "rerun snakemake so that it re-reads selected.json")
    train = splits["train"]
    model = deployable.load(chosen, train.x.shape[1], train.y.shape[1], input.selected)
    if model.scaler is not None and model.scaler.to_dict() != data_scaler.to_dict():
        raise InputError(model_path, f"was trained with scaling {model.scaler.to_dict()}, but "
                         f"{input.info} has {data_scaler.to_dict()}",
                         "deploy a model of this protocol (rerun its training rules)")
    if (model.input_len, model.output_len) != (train.x.shape[1], train.y.shape[1]):
        raise InputError(model_path, f"maps {model.input_len} -> {model.output_len} values "
                         f"but the windows are {train.x.shape[1]} -> {train.y.shape[1]}",
                         "deploy a model trained on this protocol")
    return splits, model, model_path


def load_network(input):
    """(splits, LiquidNet, scaler, model path), for the TFLite and ONNX exports of a liquid
    network; rules/common.smk schedules them only when one is selected."""
    splits, model, model_path = load(input)
    if model.kind != "liquid":
        raise InputError(input.selected, f"selects a {model.kind} model; the TFLite and ONNX "
                         "exports take liquid networks", "rerun snakemake: it plans the exports "
                         "only for a liquid network")
    return splits, model.model, model.scaler, model_path
