"""The int8 accuracy gate: rules quantize and check_tflite fail, before they write anything, when
quantization costs more validation accuracy than `deploy.int8_tolerance` allows.

The int8 model is compared with the float model on the same inputs: the values the device is
given (Q7.24 SOH for the native core, the int8 input tensor's grid for TFLite). That grid is the
device's interface, not the quantization of the model: a float model on the board would see the
same values. What it costs is recorded beside (`input_grid`), and selection already pays it:
select scores every candidate as the int8 core computes it, Q7.24 inputs included. Validation
only, like every choice of the workflow.
"""

import numpy as np

from dlnet.errors import InputError
from dlnet.quant.fixedpoint import q_in_to_soh, soh_to_q_in


def core_inputs(w):
    """The model inputs of windows `w` (dlnet/windows.py) as the native core is given them: the
    signals, then the SOH values on the core's Q7.24 grid."""
    return np.concatenate([w.s, q_in_to_soh(soh_to_q_in(w.x))], axis=1)


def measure(float_mae, float_on_grid_mae, int8_mae):
    """The gate's record for one split: the change of MAE from quantizing the model, and from
    the input grid alone (fractions)."""
    return {"float_mae": float_mae, "float_on_inputs_mae": float_on_grid_mae, "int8_mae": int8_mae,
            "quantization": int8_mae / float_on_grid_mae - 1.0,
            "input_grid": float_on_grid_mae / float_mae - 1.0}


NATIVE_FIX = ("change the quantization in config.yaml (deploy.weights: per_channel, "
              "deploy.calibration, deploy.headroom, deploy.calibration_windows)")
TFLITE_FIX = ("change the export in config.yaml (export.tflite_activations: int16, "
              "deploy.calibration_windows)")


def check(record, tolerance, model, path, fix):
    """Raise when the validation record's quantization change exceeds `tolerance` (None: no gate);
    `path` is the output the rule would have written, `model` the model it quantized, `fix` what
    to change (NATIVE_FIX, TFLITE_FIX)."""
    record = {**record, "tolerance": tolerance,
              "passed": tolerance is None or record["quantization"] <= tolerance}
    if not record["passed"]:
        raise InputError(
            model, f"its int8 form ({path}) has validation MAE {record['int8_mae']:.6f}, "
            f"{record['quantization']:+.1%} against the float model's "
            f"{record['float_on_inputs_mae']:.6f} on the same inputs; deploy.int8_tolerance "
            f"allows {tolerance:+.1%}",
            f"{fix}, or raise deploy.int8_tolerance if this loss is acceptable")
    return record
