"""DLNet workflow: battery SOH series to a verified int8 liquid neural network."""

from dlnet import numerics as _numerics

# before NumPy or PyTorch load: the same kernels, so the same numbers, on any x86-64 machine
_numerics.pin()

__version__ = "0.1.0"
