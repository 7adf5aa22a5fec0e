"""The numerical kernels are pinned (dlnet/numerics.py): without the pins, the kernels another
machine would pick change the numbers; with them, they do not."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from dlnet import numerics

pytestmark = pytest.mark.skipif(not numerics.pinned({}), reason="the pins apply to x86-64 only")

# Run in a fresh interpreter, where the environment decides the kernels: the quadratic scaler's
# inputs and targets (the parabola, a matrix product) on the shipped cells windows (NumPy and
# OpenBLAS), and one epoch of a small student on fixed random data (PyTorch and MKL), as SHA-256
# of their bytes.
CHILD = r"""
import hashlib, json, sys
import dlnet
import numpy as np, torch
from dlnet import model as net, numerics
from dlnet.config import load as load_config
from dlnet.standalone import build_protocol
from dlnet.training import TrainConfig, fit, set_determinism

def digest(arrays):
    return hashlib.sha256(b"".join(np.ascontiguousarray(a).tobytes() for a in arrays)).hexdigest()

root = sys.argv[1]
config = load_config(f"{root}/config.yaml", f"{root}/config.schema.yaml")
splits, scaler, _ = build_protocol(config, "cells", root)
train = splits["train"]
scaled = [scaler.transform(train.x[:2000]), scaler.scale_targets(train.x[:2000], train.y[:2000])]
set_determinism(0, 1)
gen = torch.Generator().manual_seed(0)
x, y = torch.randn(600, 100, generator=gen).numpy(), torch.randn(600, 100, generator=gen).numpy()
model = net.LiquidNet(net.student_config(8, 64, 64, 32))
fit(model, TrainConfig(epochs=1, seed=0), (x[:500], y[:500]), (x[500:], y[500:]), 1.0,
    log=lambda s: None)
print(json.dumps({"scaled": digest(scaled),
                  "weights": digest([v.numpy() for v in model.state_dict().values()]),
                  "numerics": numerics.in_force()}))
"""

# What two machines could pick by themselves: an old or generic x86-64 against an AVX2 one.
MACHINE_A = {"OPENBLAS_CORETYPE": "Prescott", "MKL_CBWR": "AUTO"}
MACHINE_B = {"OPENBLAS_CORETYPE": "Haswell", "MKL_CBWR": "COMPATIBLE"}


def environment(root, env, native):
    """This environment without the pins (the child's `import dlnet` sets them again, unless
    `native`), with `env` on top and the project on the path."""
    base = {k: v for k, v in os.environ.items() if k not in (*numerics.PINS, numerics.OPT_OUT)}
    return {**base, "PYTHONPATH": str(root), **env, **({numerics.OPT_OUT: "1"} if native else {})}


def child(root, env, native):
    out = subprocess.run([sys.executable, "-c", CHILD, str(root)],
                         env=environment(root, env, native), capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_other_kernels_change_the_numbers_unless_pinned(root):
    a, b = child(root, MACHINE_A, native=True), child(root, MACHINE_B, native=True)
    # the hazard: OpenBLAS's kernels change the scaled inputs, MKL's branch the trained weights
    assert a["scaled"] != b["scaled"]
    assert a["weights"] != b["weights"]
    pinned_a, pinned_b = child(root, MACHINE_A, native=False), child(root, MACHINE_B, native=False)
    assert pinned_a["scaled"] == pinned_b["scaled"]
    assert pinned_a["weights"] == pinned_b["weights"]
    for state in (pinned_a["numerics"], pinned_b["numerics"]):
        assert state == {"pinned": True, "mkl_branch": "COMPATIBLE", "aten": "AVX2",
                         "openblas": "Haswell"}
    assert a["numerics"]["pinned"] is False


def test_a_late_pin_is_reported():
    """NumPy loaded before dlnet keeps the OpenBLAS kernels it found: training says so."""
    env = {k: v for k, v in os.environ.items() if k not in numerics.PINS}
    code = ("import numpy, warnings, dlnet\nfrom dlnet.training import set_determinism\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    warnings.simplefilter('always'); set_determinism(0, 1)\n"
            "print([str(x.message) for x in w])")
    out = subprocess.run([sys.executable, "-c", code], env={**env, "OPENBLAS_CORETYPE": "Prescott"},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "openblas is" in out.stdout and "not Haswell" in out.stdout
    assert "import dlnet before" in out.stdout


def test_the_tests_run_the_pinned_kernels():
    """pytest imports dlnet before its installed plugins (pyproject's `-p dlnet`): the tests'
    own computations, compared number for number with the workflow's, use the same kernels."""
    assert numerics.mismatch(numerics.in_force()) == []


# The same training on other CPUs, as QEMU emulates them: its user mode runs this very Python on
# a virtual CPU that reports the model's vendor and features, with IEEE arithmetic done exactly in
# software. So whatever MKL or PyTorch picks for an Intel or an AMD processor runs, and the
# weights come out as that processor's would, unless the code uses an instruction whose result
# the ISA does not fix to the bit (the approximate reciprocals RCPPS and RSQRTPS, specified to 12
# bits, which each vendor and QEMU compute their own way): then the emulated and the native runs
# differ, as two vendors' processors would (torch's float32 sqrt did: dlnet/optim.py). A student,
# a teacher and two stacked seeds, a few epochs each, with gradient clipping on.
QEMU = shutil.which("qemu-x86_64")
INTEL, AMD = "Haswell", "EPYC"      # GenuineIntel and AuthenticAMD, both AVX2 and FMA
TRAIN = r"""
import hashlib, json
import dlnet
import numpy as np, torch
from dlnet import model as net, numerics
from dlnet.training import TrainConfig, fit, fit_seeds, set_determinism

def digest(models):
    return hashlib.sha256(b"".join(np.ascontiguousarray(v.numpy()).tobytes()
                                   for m in models for v in m.state_dict().values())).hexdigest()

set_determinism(0, 1)
gen = torch.Generator().manual_seed(0)
x, y = torch.randn(400, 100, generator=gen).numpy(), torch.randn(400, 100, generator=gen).numpy()
train, val, cfg = (x[:300], y[:300]), (x[300:], y[300:]), TrainConfig(epochs=3, seed=0, clip=0.05)
student = net.student_config(8, 64, 64, 32)
teacher = net.teacher_config(enc_hidden=64, width=32, dec_hidden=64, dec_mid=32, steps=3, dt=1 / 3)
out = {}
for name, arch in (("student", student), ("teacher", teacher)):
    torch.manual_seed(0)
    model = net.LiquidNet(arch)
    fit(model, cfg, train, val, 1.0, log=lambda s: None)
    out[name] = digest([model])
models = []
for seed in (1, 2):
    torch.manual_seed(seed)
    models.append(net.LiquidNet(student))
fit_seeds(models, [1, 2], cfg, train, val, 1.0, logs=[lambda s: None] * 2)
out["stacked"] = digest(models)
print(json.dumps({"weights": out, "numerics": numerics.in_force()}))
"""


def trained(root, cpu=None, native=False):
    """TRAIN's digests in a fresh interpreter, on this CPU or on QEMU's model `cpu`."""
    # sys.executable, not its target: the interpreter finds its virtual environment by that path
    cmd = ([QEMU, "-cpu", cpu] if cpu else []) + [sys.executable, "-c", TRAIN]
    return subprocess.Popen(cmd, env=environment(root, {}, native), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def result(proc):
    out, err = proc.communicate(timeout=1200)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.skipif(QEMU is None, reason="needs qemu-x86_64 (Debian package qemu-user) to run "
                    "Python on an emulated Intel and AMD CPU; ./install.sh test installs it")
def test_an_intel_and_an_amd_cpu_train_the_same_weights(root):
    runs = {"here": trained(root), "intel": trained(root, INTEL), "amd": trained(root, AMD)}
    pinned = {k: result(p) for k, p in runs.items()}
    for r in pinned.values():
        assert r["numerics"]["mkl_branch"] == "COMPATIBLE" and r["numerics"]["aten"] == "AVX2"
    assert pinned["intel"]["weights"] == pinned["here"]["weights"]
    assert pinned["amd"]["weights"] == pinned["here"]["weights"]
    # without the pins MKL takes its Intel path on one and its AMD path on the other
    free = [trained(root, INTEL, native=True), trained(root, AMD, native=True)]
    intel, amd = (result(p)["weights"] for p in free)
    assert intel["student"] != amd["student"] and intel["teacher"] != amd["teacher"]
