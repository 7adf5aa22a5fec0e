"""The same numbers on any x86-64 machine: which vector kernels the numerical libraries run.

PyTorch's matrix products (MKL), its element-wise kernels (ATen) and NumPy's and SciPy's linear
algebra (OpenBLAS) each pick code for the CPU they find when they load, and kernels of other
vector widths or other vendors add in another order. On this project's data that is enough to
change everything downstream: the quadratic scaler's inputs differ in their last bits between
OpenBLAS's AVX-512 and AVX2 kernels (and between its generic and AVX2 ones, which
tests/test_numerics.py compares, as any x86-64 CPU runs both), a student trained on MKL's AMD
path ends with other weights than on its compatible path, and training then goes down another
road, as with another seed. So every process of the workflow runs one branch of each,
one that every x86-64 CPU since 2013 has (AVX2):

    MKL_CBWR=COMPATIBLE         the only MKL branch that is the same on Intel and AMD processors
                                (MKL ignores the others on AMD); the teacher trains 30%
                                slower, paper-sized students 20%, tiny ones under 3%
                                (benchmarks/train_speed.py, with DLNET_NATIVE_NUMERICS=1)
    ATEN_CPU_CAPABILITY=avx2    PyTorch's own kernels at AVX2 width, AVX-512 or not
    OPENBLAS_CORETYPE=Haswell   OpenBLAS's AVX2 kernels for NumPy, SciPy and scikit-learn
    TF_ENABLE_ONEDNN_OPTS=0     no oneDNN kernels in the TFLite converter (the TensorFlow runtime
                                under litert-torch): the exports are the same bytes without them
                                here, and no kernel chosen for the CPU is left in the export

The libraries read these when they load, so they must be in the environment before NumPy or
PyTorch is imported: `import dlnet` sets them (the Snakefile imports it before any job starts, and
jobs inherit the environment). NumPy's own SIMD loops need no pin: disabling its AVX-512 ones
changes none of the workflow's numbers (the test runs the tiny workflow that way). Other
architectures (arm64) are left as they are: there the seed noise of the selection still holds.
DLNET_NATIVE_NUMERICS=1 turns the pins off (faster; numbers then depend on the CPU).

No pin reaches an instruction whose result the ISA leaves to the vendor (RCPPS, RSQRTPS): torch's
float32 sqrt behaves as if it used one (this CPU and QEMU's disagree on its last bit), so the
optimizer takes NumPy's (dlnet/optim.py). tests/test_numerics.py trains under QEMU on an emulated
Intel and an emulated AMD CPU, which compute exactly what the ISA specifies: a vendor-specific
instruction on the training path shows as a difference there.
"""

import os
import platform

PINS = {
    "MKL_CBWR": "COMPATIBLE",
    "ATEN_CPU_CAPABILITY": "avx2",
    "OPENBLAS_CORETYPE": "Haswell",
    "TF_ENABLE_ONEDNN_OPTS": "0",
}
OPT_OUT = "DLNET_NATIVE_NUMERICS"

# mkl_cbwr.h: what mkl_cbwr_get(MKL_CBWR_BRANCH) returns
_MKL_BRANCH = 1
_MKL_BRANCHES = {1: "OFF", 2: "AUTO", 3: "COMPATIBLE"}


def pinned(environ=os.environ):
    """Whether the pins apply here: x86-64, and not turned off."""
    return platform.machine().lower() in ("x86_64", "amd64") and environ.get(OPT_OUT) != "1"


def pin(environ=os.environ):
    """Put the pins into `environ` (for this process and the ones it starts)."""
    if pinned(environ):
        environ.update(PINS)


def in_force():
    """The kernels this process runs, read back from the libraries (None: library not loaded or
    not built with it). Recorded in every metrics file beside the package versions."""
    import ctypes

    import numpy  # noqa: F401  (loads OpenBLAS, so that it can be asked)
    import torch
    from threadpoolctl import threadpool_info

    mkl = None
    try:
        lib = ctypes.CDLL(os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so"))
        get = lib.mkl_serv_cbwr_get
        get.restype, get.argtypes = ctypes.c_int, [ctypes.c_int]
        code = get(_MKL_BRANCH)
        mkl = _MKL_BRANCHES.get(code, str(code))
    except (OSError, AttributeError):
        pass
    openblas = sorted({i.get("architecture") for i in threadpool_info()
                       if i.get("internal_api") == "openblas"} - {None})
    return {"pinned": pinned(), "mkl_branch": mkl,
            "aten": torch.backends.cpu.get_cpu_capability(),
            "openblas": ",".join(openblas) or None}


def mismatch(state):
    """What in `state` (from in_force) differs from the pins: empty when all hold, or when the
    pins do not apply."""
    if not state["pinned"]:
        return []
    want = {"mkl_branch": PINS["MKL_CBWR"], "aten": PINS["ATEN_CPU_CAPABILITY"].upper(),
            "openblas": PINS["OPENBLAS_CORETYPE"]}
    return [f"{k} is {state[k]}, not {v}" for k, v in want.items()
            if state[k] is not None and state[k] != v]
