"""Checks shared by every adapter: the columns exist, hold numbers, and make a valid series."""

import gzip
import re

import numpy as np
import pandas as pd

from dlnet.errors import InputError


def read_csv(path, what):
    """Read a CSV (plain or .gz) or fail naming the file and what it should hold."""
    try:
        return pd.read_csv(path, low_memory=False)
    except FileNotFoundError:
        raise InputError(path, f"the {what} file does not exist",
                         "check the dataset's path (the config's datasets section)") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as e:
        raise InputError(path, f"cannot be read as CSV ({e})",
                         f"provide the {what} as a comma-separated file with a header row") from None


def cell_ids(path, column):
    """The cell id column of a CSV (read_csv read it, require_columns found the column) as the
    text the file holds, stripped: pandas would read '01' as 1, '2.10' and '2.1' as one number,
    and 'NA' or an empty field as a missing value, which every split then leaves out without a
    word. An id left empty is refused."""
    ids = pd.read_csv(path, usecols=[column], dtype=str, keep_default_na=False)[column].str.strip()
    empty = (ids == "").to_numpy()
    if empty.any():
        raise InputError(path, f"line {file_line(path, int(np.flatnonzero(empty)[0]))} has no "
                         f"cell id; {int(empty.sum())} such row(s) in all",
                         "give every row its cell's id", column=column)
    return ids


def file_line(path, row):
    """The line of the CSV `path` that holds data row `row` (0-based, as read_csv counts them:
    neither the header nor a blank line is a row), for an error the user finds in an editor."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", newline="") as f:
        rows = -2                      # the first line that is not blank is the header
        for number, line in enumerate(f, start=1):
            if line.strip("\r\n"):
                rows += 1
                if rows == row:
                    return number
    return row + 2


def require_columns(frame, path, columns, keys=None):
    """Fail naming the missing columns; `keys` (column -> the dataset's config key that names
    it) turns the fix into which key to set."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        fix = "add the column"
        if keys:
            fix += (", or set " + " / ".join(f"{keys[c]}" for c in missing if c in keys)
                    + " of the dataset (datasets section) to the file's own column")
        if len(frame.columns) == 1 and any(sep in str(frame.columns[0]) for sep in ";\t|"):
            fix = ("write the file with commas between the columns (its header is one column: "
                   "another separator?)")
        raise InputError(path, f"missing column(s) {missing}; found {list(frame.columns)}", fix,
                         column=missing[0])


def numeric_column(frame, path, column, id_column="cell_id"):
    """Return `column` as float64; fail on text or NaN, naming the first bad cell and row."""
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raw = frame[column].iloc[row]
        cell = frame[id_column].iloc[row] if id_column in frame.columns else None
        kind = "is empty (NaN)" if pd.isna(raw) else f"is not a number ({raw!r})"
        fix = "remove or correct those rows"
        if isinstance(raw, str) and re.fullmatch(r"\s*[-+]?\d+(,\d+)+\s*", raw):
            fix = ("write numbers with a decimal point and no thousands separator (a decimal "
                   "comma, or 1,000?)")
        raise InputError(path, f"line {file_line(path, row)} {kind}; {int(bad.sum())} such "
                         "row(s) in all", fix, cell=cell, column=column)
    return values.astype(np.float64)


def check_cycles(frame, path, id_column="cell_id", cycle_column="cycle", label=None):
    """Each cell's cycles must be unique; sorts by (cell, cycle). label: the cycle column's name
    in the file, where the frame renamed it."""
    dup = frame.duplicated([id_column, cycle_column], keep=False)
    if dup.any():
        first = frame[dup].iloc[0]
        raise InputError(path, f"cycle {first[cycle_column]} appears {int(dup.sum())} times "
                         "among duplicated (cell, cycle) rows",
                         "keep one row per cell and cycle", cell=first[id_column],
                         column=label or cycle_column)
    return frame.sort_values([id_column, cycle_column], kind="stable").reset_index(drop=True)
