"""Executed instructions to a latency estimate on the nRF52840 at 64 MHz.

QEMU counts instructions, not cycles. The estimate brackets the cycles per instruction (CPI):
  low  1.0  the Cortex-M4 issues one instruction per cycle: ALU, MUL/MLA and the 32x32->64
            SMULL/SMLAL the requantization uses are single-cycle;
  high 2.0  loads take 2 cycles (the DSP dot product loads a word of 4 weights and the inputs
            shared by two rows; the other ops load every operand), taken
            branches 2-4 (pipeline refill), and flash fetches at 64 MHz add wait states, which
            the nRF52840's instruction cache hides in loops this small when it is enabled.
A board measurement (the sketch's micros() around dlnet_run) replaces this estimate.
m4cycles gives a tighter one, from the cycles of each instruction QEMU executed (the report's
latency_ms); this bracket stays beside it as latency_ms_estimate.
"""

CLOCK_HZ = 64_000_000
CPI = {"low": 1.0, "high": 2.0}
NOTE = ("estimate, not a measurement: instructions counted in QEMU times an assumed "
        "cycles-per-instruction range at 64 MHz; the sketch's micros() on a board measures it")
JUSTIFICATION = {
    "low": "Cortex-M4 single-issue: ALU, MLA and SMULL/SMLAL in one cycle",
    "high": "2-cycle loads (a word of 4 int8 weights per load in the dot products), 2-4 cycle "
            "taken branches, "
            "flash wait states (hidden by the nRF52840 instruction cache in small loops when "
            "it is enabled)",
}


def estimate(instructions, cpi=None, clock_hz=CLOCK_HZ):
    """{'low': ms, 'high': ms} for `instructions` at `clock_hz` over the CPI range."""
    cpi = {**CPI, **(cpi or {})}
    if not 0 < cpi["low"] <= cpi["high"]:
        raise ValueError(f"cycles per instruction must satisfy 0 < low <= high, got {cpi}")
    return {k: 1e3 * instructions * cpi[k] / clock_hz for k in ("low", "high")}
