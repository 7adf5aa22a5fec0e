"""The int8 core's C files (firmware/core), named once: the rules' inputs, the host, Cortex-M4
and sketch builds, the Arduino staging, the tests and the benchmarks all take them from here.
Each file follows a Python twin (dlnet_fixedpoint.h says which)."""

from pathlib import Path

FOLDER = "firmware/core"
DIR = Path(__file__).resolve().parents[2] / FOLDER
SOURCES = ("dlnet_fixedpoint.c", "dlnet_ops.c", "dlnet_run.c", "dlnet_model.c", "dlnet_guard.c")
HEADERS = ("dlnet_core.h", "dlnet_fixedpoint.h")


def rule_inputs():
    """Every core file relative to the project folder, for a rule's input: section."""
    return [f"{FOLDER}/{name}" for name in SOURCES + HEADERS]


def sources(folder=DIR):
    """The core's C sources in `folder` (the core's own, or a copy staged with a sketch)."""
    return [Path(folder) / name for name in SOURCES]
