import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW_FILES = ["Snakefile", "config.yaml", "config.schema.yaml", "rules", "scripts", "envs",
                  "profiles", "report", "firmware", "tests"]


@pytest.fixture(scope="session")
def root():
    return ROOT


@functools.lru_cache(maxsize=None)
def shipped_splits(protocol):
    """(splits, scaler) of a protocol on the data shipped in data/, as config.yaml defines it.
    Cached: callers must not modify the arrays."""
    from dlnet.config import load as load_config
    from dlnet.standalone import build_protocol

    splits, scaler, _ = build_protocol(load_config(ROOT / "config.yaml"), protocol, ROOT)
    return splits, scaler


def copy_workflow(dest):
    """A copy of the workflow (data linked, not copied) to run Snakemake in isolation."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", ".snakemake", "results"))
        elif src.exists():
            shutil.copy2(src, dest / name)
    (dest / "data").symlink_to(ROOT / "data")
    return dest


def snakemake(workdir, *args, check=True, env=None):
    """Run Snakemake in `workdir` with this interpreter's environment (plus `env`); return the
    process."""
    cmd = [sys.executable, "-m", "snakemake", *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc


def firmware_workflow(dest, tiny, optimize="Os", arduino=False):
    """A workflow of the firmware rules alone, on a model's deploy outputs (`tiny`: header,
    dataset, selected) placed where rules/firmware.smk looks for protocol `t`."""
    for name in ("rules", "scripts", "envs", "firmware"):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    (dest / "Snakefile").write_text('include: "rules/firmware.smk"\n')
    (dest / "config.yaml").write_text(
        f"firmware: {{windows: 5, optimize: {optimize}, cpi: {{low: 1.0, high: 2.0}}, "
        f"qemu_timeout: 600, arduino: {str(arduino).lower()}, arduino_timeout: 60}}\n")
    for src, dst in ((tiny.header, "deploy/dlnet_model.h"), (tiny.dataset, "data/dataset.npz"),
                     (tiny.selected, "pareto/selected.json")):
        (dest / "results/t" / dst).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, dest / "results/t" / dst)
    return dest


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The whole workflow on the tiny config, run once per test session."""
    workdir = copy_workflow(tmp_path_factory.mktemp("tiny") / "wf")
    proc = snakemake(workdir, "--cores", "2", "--configfile", "tests/config_tiny.yaml")
    return workdir, proc


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """A paper-protocol student (width 4, 10 epochs) as an int8 TFLite model, min-max scaled in
    and out like the paper's: (model, scaler, splits, path of the .tflite, its bytes)."""
    import torch

    from dlnet import model as net
    from dlnet.export.tflite import convert
    from dlnet.quant.calibrate import sample
    from dlnet.run.train_common import scaled
    from dlnet.training import TrainConfig, fit, set_determinism

    set_determinism(0, 1)
    splits, scaler = shipped_splits("paper")
    model = net.LiquidNet(net.student_config(4, enc_hidden=16, dec_hidden=16, dec_mid=16))
    fit(model, TrainConfig(epochs=10, seed=0), scaled(splits["train"], scaler),
        scaled(splits["val"], scaler), scaler.span, log=lambda _: None)
    data = convert(model, torch.as_tensor(sample(scaler.transform(splits["train"].x), 500),
                                          dtype=torch.float32))
    path = tmp_path_factory.mktemp("tflite") / "model_int8.tflite"
    path.write_bytes(data)
    return model, scaler, splits, path, data
