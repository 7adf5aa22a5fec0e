"""Signals: per-window integers a battery management system already knows, as model inputs
beside the SOH window (config.yaml: `protocols.<name>.signals`).

Each signal is computed causally, from the cycles of the window's input values only, and is an
integer in its own unit: the C core takes it as an int32 (dlnet_run's `signals`), the Arduino
sketch on its `W` line. The Scaler scales it on the training windows, (v - offset) / scale with an
integer offset (`fit`), and the model reads it after the scaled window (dlnet/model.py).

Where code passes windows to a forecaster, a row is the model's raw input: the k signals first,
then the input_len SOH values (WindowSet.inputs), so that every "last n values" of a row, which
the anchors, the parabolas and the baselines read, is SOH.

    cycle        cycles   the cycle number of the window's last input value: the cell's age when
                          it forecasts. Every dataset has it.
    ir_level     uOhm     median internal resistance (column IR, Ohm) of the last 10 input cycles
    ir_change    uOhm     ir_level less the median of the first 10 input cycles
    temperature  0.01 C   mean cell temperature (column Tavg, deg C) over the input window
    charge_time  s        median charge time (column chargetime, min) of the last 10 input cycles

The per-cycle columns are the study's (data/severson2019, matr_raw; a user CSV names its own in
`signal_columns`). A per-cycle value of 0 (what the source writes where it recorded nothing) or
outside its column's plausible range (VALID) is missing; each statistic reads the valid values of
its cycles, and a window with none has no value: dlnet.protocols leaves it out and logs it in
dropped.csv.
"""

from dataclasses import dataclass

import numpy as np

# Plausible per-cycle values of each column, (low, high], in its own unit.
VALID = {"IR": (0.0, 1.0), "Tavg": (-40.0, 80.0), "chargetime": (0.0, 60.0)}
UNITS = {"IR": "Ohm", "Tavg": "deg C", "chargetime": "min"}


@dataclass(frozen=True)
class Signal:
    name: str
    unit: str
    column: str          # the per-cycle column of the series it reads
    factor: float        # raw integer = round(statistic * factor)
    cycles: str          # which input cycles: last (the window's last), last10, all, or
                         # last10-first10 (the last ten's statistic less the first ten's)
    statistic: str       # value, median or mean of the valid values of those cycles


SIGNALS = {
    "cycle": Signal("cycle", "cycles", "cycle", 1.0, "last", "value"),
    "ir_level": Signal("ir_level", "uOhm", "IR", 1e6, "last10", "median"),
    "ir_change": Signal("ir_change", "uOhm", "IR", 1e6, "last10-first10", "median"),
    "temperature": Signal("temperature", "0.01 C", "Tavg", 100.0, "all", "mean"),
    "charge_time": Signal("charge_time", "s", "chargetime", 60.0, "last10", "median"),
}
COLUMNS = sorted({s.column for s in SIGNALS.values()} - {"cycle"})


def groups(names):
    """The signals ablation's groups (dlnet/ablation.py), {group: signal names}: none ("soh"),
    each alone, and all together when there are several."""
    out = {"soh": []}
    out.update({n: [n] for n in names})
    if len(names) > 1:
        out["all"] = list(names)
    return out


def valid(column, values):
    """The per-cycle values with 0 and those outside the column's plausible range set to NaN: the
    source writes 0 where it recorded nothing, even where 0 would be plausible (0 deg C)."""
    v = np.asarray(values, np.float64)
    if column not in VALID:
        return v
    low, high = VALID[column]
    return np.where((v > low) & (v <= high) & (v != 0), v, np.nan)


def out_of_range(series, names):
    """[(signal, column, values outside the plausible range, values recorded)] of the columns
    these signals read where most recorded values (not 0, not missing), and at least a window's
    worth of the shortest statistic (10), lie outside VALID, most outside first: the sign of a
    column in another unit (IR in mOhm, Tavg in K, chargetime in s), which is off in every value
    it records, not of a glitch or a few."""
    found = []
    for name in names:
        column = SIGNALS[name].column
        if column not in VALID:
            continue
        v = series[column].to_numpy(np.float64)
        recorded = np.isfinite(v) & (v != 0)
        outside = int((recorded & np.isnan(valid(column, v))).sum())
        if outside > recorded.sum() / 2 and outside >= 10:
            found.append((name, column, outside, int(recorded.sum())))
    return sorted(found, key=lambda f: -f[2])


def _statistic(block, statistic):
    """Median or mean over each row's finite values; NaN for a row without any."""
    ok = np.isfinite(block)
    out = np.full(len(block), np.nan)
    for i in np.flatnonzero(ok.any(axis=1)):
        row = block[i, ok[i]]
        out[i] = np.median(row) if statistic == "median" else row.mean()
    return out


def _over(columns, signal, cell, start, input_len, cycles):
    """The signal's statistic over `cycles` (first10, last10, all) of each window's inputs; a
    window shorter than 10 gives its 10-cycle statistics all its cycles."""
    ten = min(10, input_len)
    offset = {"first10": 0, "last10": input_len - ten, "all": 0}[cycles]
    length = {"first10": ten, "last10": ten, "all": input_len}[cycles]
    block = np.array([columns[c][signal.column][s + offset:s + offset + length]
                      for c, s in zip(cell, start)]).reshape(len(start), length)
    return _statistic(block, signal.statistic)


def window_values(names, columns, cell, start, input_len):
    """Raw values (n, len(names)) of windows (cell, start): float64 holding integers, NaN where
    a window has no valid value. `columns`: cell -> {column: per-cycle values in series order,
    already through `valid`} (cell_columns)."""
    out = np.zeros((len(start), len(names)))
    for j, name in enumerate(names):
        if name not in SIGNALS:
            raise ValueError(f"unknown signal '{name}'; known: {sorted(SIGNALS)}")
        sig = SIGNALS[name]
        if sig.cycles == "last":
            v = np.array([columns[c][sig.column][s + input_len - 1] for c, s in zip(cell, start)],
                         np.float64)
        elif sig.cycles == "last10-first10":
            v = (_over(columns, sig, cell, start, input_len, "last10")
                 - _over(columns, sig, cell, start, input_len, "first10"))
        else:
            v = _over(columns, sig, cell, start, input_len, sig.cycles)
        out[:, j] = np.rint(v * sig.factor)
    return out


def cell_columns(series, names):
    """cell -> {column: values in series order} of the columns these signals read, invalid
    values as NaN; from a series frame (cell_id, cycle and the columns)."""
    needed = sorted({SIGNALS[n].column for n in names})
    return {c: {k: valid(k, g[k].to_numpy()) for k in needed}
            for c, g in series.groupby("cell_id", sort=False)}


def split(inputs, input_len, k):
    """A raw input row's parts: (signals as int64 (n, k), SOH window (n, input_len))."""
    inputs = np.asarray(inputs, np.float64)
    soh = inputs[:, inputs.shape[1] - input_len:]
    raw = inputs[:, inputs.shape[1] - input_len - k:inputs.shape[1] - input_len]
    return np.rint(raw).astype(np.int64), soh


def fit(names, values):
    """The Scaler's signal scalings, from the training windows' raw values (n, k): an integer
    offset (the mean, rounded, so the core subtracts it exactly) and the largest distance from
    it, so that training values land in [-1, 1] like the scaled window's: an int8 input tensor
    that holds both (the TFLite export's) then spends its steps on both alike."""
    out = []
    for j, name in enumerate(names):
        v = values[:, j]
        offset = int(np.rint(v.mean()))
        out.append({"name": name, "unit": SIGNALS[name].unit, "offset": offset,
                    "scale": float(max(np.abs(v - offset).max(), 1.0))})
    return out


def check_datasets(config):
    """Fail before any job runs when an enabled protocol asks for a signal (its `signals`, or the
    ablation's where it runs the ablation) whose per-cycle column its dataset's adapter never has
    (dlnet.data.adapters: `columns`). Columns only the file can tell are checked when it is read
    (dlnet.protocols)."""
    from dlnet.data import adapters
    from dlnet.errors import InputError, config_source

    for name, p in config["protocols"].items():
        if not p["enabled"]:
            continue
        dataset = config["datasets"][p["dataset"]]
        columns = adapters.get(dataset).columns
        if columns is None:
            continue
        asked = [(s, f"protocols.{name}.signals") for s in p.get("signals", [])]
        if p.get("ablation"):
            asked += [(s, "ablation.signals") for s in config["ablation"]["signals"]]
        for s, field in asked:
            column = SIGNALS[s].column
            if column != "cycle" and column not in columns:
                raise InputError(
                    config_source(),
                    f"{field} has '{s}', which reads the per-cycle column '{column}', but protocol "
                    f"'{name}' reads dataset '{p['dataset']}' ({dataset['adapter']}), which has "
                    f"no such column",
                    f"remove '{s}' from {field}" + (f" (or set protocols.{name}.ablation: false)"
                                                     if field == "ablation.signals" else "")
                    + ", or point the protocol at a dataset that records it",
                    column=field)
