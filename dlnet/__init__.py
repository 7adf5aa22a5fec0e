"""DLNet workflow: battery SOH series to a verified int8 liquid neural network."""

__version__ = "0.1.0"
