"""The Cortex-M4 build in QEMU: bit for bit the NumPy int8 reference on real windows (with and
without the cycle signal beside them), a corrupt model caught by the firmware itself, and the
measurements it reports.

Needs Debian's gcc-arm-none-eabi, libnewlib-arm-none-eabi and qemu-system-arm (install.sh
installs them); without them the QEMU tests skip and say so.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from conftest import ROOT, firmware_workflow, snakemake
from dlnet import protocols
from dlnet.config import load as load_config
from dlnet.data.sources import load_source
from dlnet.firmware import core_files, held_out_windows, latency, m4, m4cycles, qemu, stack, tools
from dlnet.cost import macs
from dlnet.model import LiquidNet, student_config
from dlnet.quant import guard, header, qmodel, reference
from dlnet.quant.fixedpoint import soh_to_q_in
from dlnet.quant.random_models import (calibration_inputs, mixed_windows, random_model,
                                       randomized, signal_values, soh_windows,
                                       with_random_signals)
from dlnet.run import firmware_m4
from dlnet.scaling import Scaler

M4_TOOLS = ("arm-none-eabi-gcc", "arm-none-eabi-size", "arm-none-eabi-nm",
            "arm-none-eabi-objdump", "qemu-system-arm")
MISSING = [t for t in M4_TOOLS if shutil.which(t) is None]
needs_m4 = pytest.mark.skipif(bool(MISSING), reason=f"{', '.join(MISSING)} not on PATH: apt-get "
                              "install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm")
CELLS = ["b2c0", "b2c41", "b2c2", "b2c3", "b3c28"]


def real_dataset(path, signals=()):
    """The cells protocol on five shipped cells: real windows, train and held-out, with
    `signals` (dlnet/signals.py) beside them."""
    cfg = load_config(ROOT / "config.yaml")
    dataset = {**cfg["datasets"]["severson2019"]}
    for key in ("summary", "cells"):
        dataset[key] = str(ROOT / dataset[key])
    pcfg = {**cfg["protocols"]["cells"], "include_cells": CELLS, "exclude_cells": [],
            "train_step": 20, "eval_step": 25, "split": {"source": "study", "val_fraction": 0.3, "seed": 42},
            "signals": list(signals)}
    splits, scaler, _ = protocols.build("cells", pcfg, load_source(dataset, cfg["cleaning"]),
                                        cfg["baselines"]["fit_lengths"])
    protocols.save(path, splits)
    return splits, scaler


def tiny_model_header(path, splits, scaler, epochs=30):
    """A width-4 student with hidden sizes 16 (reading the scaler's signals), trained briefly,
    quantized, as dlnet_model.h."""
    torch.manual_seed(0)
    model = LiquidNet(student_config(4, enc_hidden=16, dec_hidden=16, dec_mid=16, dropout=0.0,
                                     signals=len(scaler.signals)))
    train = splits["train"]
    x = torch.as_tensor(scaler.transform(train.inputs), dtype=torch.float32)
    y = torch.as_tensor(scaler.scale_targets(train.inputs, train.y), dtype=torch.float32)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(epochs):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    qm = qmodel.quantize(model.eval(), scaler, train.inputs)
    Path(path).write_text(header.text(qm, source="tests/test_firmware_m4.py"))
    return qm


def tiny_firmware(d, signals=()):
    splits, scaler = real_dataset(d / "dataset.npz", signals)
    qm = tiny_model_header(d / "dlnet_model.h", splits, scaler)
    (d / "selected.json").write_text(json.dumps({"name": "tiny", "model": "tiny/model.pt"}))
    return SimpleNamespace(dir=d, dataset=d / "dataset.npz", header=d / "dlnet_model.h",
                           selected=d / "selected.json", qm=qm, splits=splits)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_firmware(tmp_path_factory.mktemp("tiny_firmware"))


@pytest.fixture(scope="module")
def tiny_cycle(tmp_path_factory):
    """The tiny student reading the cycle number beside the window."""
    return tiny_firmware(tmp_path_factory.mktemp("tiny_cycle_firmware"), signals=["cycle"])


def corrupt(src, dst):
    """A copy of a model header with one byte of the model data changed."""
    text = Path(src).read_text()
    at = text.index("dlnet_model_data[DLNET_MODEL_BYTES] = {")
    match = re.compile(r"0x([0-9a-f]{2})").search(text, at + 400)
    flipped = f"0x{int(match.group(1), 16) ^ 0x10:02x}"
    Path(dst).write_text(text[:match.start()] + flipped + text[match.end():])
    return dst


def test_windows_are_held_out_spread_and_repeatable(tiny):
    a = held_out_windows.pick(tiny.dataset, 8, 100)
    b = held_out_windows.pick(tiny.dataset, 8, 100)
    assert np.array_equal(a.q, b.q) and a.q.dtype == np.int32 and a.q.shape == (8, 100)
    assert set(a.split) <= set(held_out_windows.HELD_OUT) and len(set(a.cell)) >= 2
    every = held_out_windows.pick(tiny.dataset, 10_000, 100)
    held_out = protocols.load(tiny.dataset)
    assert len(every.q) == sum(len(held_out[s]) for s in held_out_windows.HELD_OUT if s in held_out)
    with pytest.raises(Exception, match="model reads 50"):
        held_out_windows.pick(tiny.dataset, 8, 50)


@needs_m4
def test_qemu_matches_the_numpy_reference_on_real_windows(tiny, tmp_path):
    selection = held_out_windows.pick(tiny.dataset, 16, 100)
    r = m4.verify(tiny.header, selection, tmp_path, log=lambda _: None, trace_windows=0)
    assert r["all_bit_exact"] and r["windows_compared"] == 16 and r["values_compared"] == 1600
    assert r["mismatched_windows"] == 0 and all(w["bit_exact"] for w in r["windows"])
    ins = r["instructions_per_inference"]
    assert 10_000 < ins["min"] <= ins["mean"] <= ins["max"] < 1_000_000
    assert r["latency_ms_estimate"]["low"] == pytest.approx(ins["max"] / 64e3)
    assert r["latency_ms_estimate"]["high"] == pytest.approx(2 * ins["max"] / 64e3)
    b = r["breakdown"]
    assert b["model_data_bytes"] == len(header.read_bytes(tiny.header))
    assert r["flash_bytes"] == b["model_data_bytes"] + b["core_code_bytes"]
    assert b["scratch_bytes"] >= qmodel.scratch_bytes(tiny.qm.dims)
    assert r["ram_bytes"] == b["model_handle_bytes"] + b["scratch_bytes"] + b["output_buffer_bytes"]
    assert b["core_static_ram_bytes"] == 0                       # the core keeps no globals
    assert 0 < r["stack_bytes"] <= 1024
    assert b["instructions_per_systick"] > 0 and b["init_instructions"] > ins["max"]
    assert "arm-none-eabi-gcc" in r["toolchain"]["arm-none-eabi-gcc"]
    assert "QEMU" in r["toolchain"]["qemu"]
    assert (tmp_path / "app.elf").exists()


def test_held_out_windows_carry_their_signals_into_the_m4_header(tiny, tiny_cycle):
    """The cycle signal of each held-out window, as an int32 row beside its SOH row; none (and
    no array: C has no empty ones) without signals; -2^31 written as an int expression."""
    sel = held_out_windows.pick(tiny_cycle.dataset, 8, 100)
    assert sel.signals.shape == (8, 1) and sel.signals.dtype == np.int64
    # the cycle number of each window's last input value: the window's start plus 100
    assert np.array_equal(sel.signals[:, 0], sel.start + 100)
    text = held_out_windows.m4_header(sel.q, sel.signals)
    assert "#define DLNET_M4_SIGNALS 1" in text
    assert "dlnet_signals[DLNET_M4_WINDOWS][DLNET_M4_SIGNALS]" in text
    plain = held_out_windows.pick(tiny.dataset, 8, 100)
    assert plain.signals.shape == (8, 0)
    text = held_out_windows.m4_header(plain.q, plain.signals)
    assert "#define DLNET_M4_SIGNALS 0" in text and "dlnet_signals" not in text
    assert held_out_windows.m4_header(plain.q) == text
    extreme = held_out_windows.m4_header(sel.q[:1], [[-2 ** 31]])
    assert "(-2147483647 - 1)" in extreme and "-2147483648" not in extreme
    # a model reads the last k of the protocol's signals (dlnet.signals.split): a polynomial
    # baseline none of them
    assert held_out_windows.pick(tiny_cycle.dataset, 8, 100, n_signals=0).signals.shape == (8, 0)
    assert np.array_equal(sel.model_signals(1), sel.signals) and sel.model_signals(0).shape == (8, 0)
    with pytest.raises(Exception, match="model reads 2"):
        held_out_windows.pick(tiny_cycle.dataset, 8, 100, n_signals=2)


@needs_m4
def test_qemu_matches_the_reference_on_real_windows_with_the_cycle_signal(tiny_cycle, tmp_path):
    """A student reading the cycle number beside the window: QEMU and NumPy agree on real
    held-out windows and their real cycle numbers, and the signal changes the forecast."""
    assert tiny_cycle.qm.dims["signals"] == 1
    assert "#define DLNET_N_SIGNALS 1" in tiny_cycle.header.read_text()
    selection = held_out_windows.pick(tiny_cycle.dataset, 16, 100)
    r = m4.verify(tiny_cycle.header, selection, tmp_path / "real", log=lambda _: None,
                  trace_windows=0)
    assert r["all_bit_exact"] and r["windows_compared"] == 16 and r["mismatched_windows"] == 0
    older = held_out_windows.Selection(selection.q, selection.y, selection.split, selection.cell,
                                       selection.start, selection.signals + 400)
    r = m4.verify(tiny_cycle.header, older, tmp_path / "older", log=lambda _: None,
                  trace_windows=0)
    assert r["all_bit_exact"]
    assert not np.array_equal(reference.run(tiny_cycle.qm, selection.q, selection.signals),
                              reference.run(tiny_cycle.qm, older.q, older.signals))


@needs_m4
def test_qemu_runs_a_model_without_signals_on_windows_with_them_and_refuses_the_reverse(
        tiny, tiny_cycle, tmp_path):
    """A model reading none of the protocol's signals (a polynomial baseline, say) runs on its
    windows without them (main.c passes NULL); a model reading one cannot run on windows
    without any."""
    r = m4.verify(tiny.header, held_out_windows.pick(tiny_cycle.dataset, 4, 100), tmp_path / "a",
                  log=lambda _: None, trace_windows=0)
    assert r["all_bit_exact"] and r["windows_compared"] == 4
    with pytest.raises(Exception, match="have 0 signals beside each window but the model reads 1"):
        m4.verify(tiny_cycle.header, held_out_windows.pick(tiny.dataset, 2, 100), tmp_path / "b",
                  log=lambda _: None)


@needs_m4
def test_the_input_guard_refuses_glitched_windows_in_qemu_as_on_the_host(tiny, tmp_path):
    """Held-out windows with a zero row, a 2.88 Ah spike and a one-cycle drop: dlnet_check_window
    on the Cortex-M4 refuses each at the glitch, passes the clean ones, as guard.check_window."""
    clean = held_out_windows.pick(tiny.dataset, 4, 100)
    q = np.repeat(clean.q, 2, axis=0)
    q[1, 30], q[3, 60], q[5, 70], q[7, 99] = 0, 2 ** 31 - 1, q[5, 69] - (1500 << 10), -5
    glitched = held_out_windows.Selection(q, np.repeat(clean.y, 2, axis=0), np.repeat(clean.split, 2),
                                 np.repeat(clean.cell, 2), np.repeat(clean.start, 2))
    r = m4.verify(tiny.header, glitched, tmp_path, log=lambda _: None, trace_windows=0)
    g = r["input_guard"]
    assert g == {"windows_checked": 8, "refused": 4, "agrees_with_reference": True}
    assert [guard.check_window(row)[1] for row in q] == [-1, 30, -1, 60, -1, 70, -1, 99]
    assert r["all_bit_exact"]                  # dlnet_run itself still forecasts from anything


@needs_m4
def test_painted_stack_is_within_the_static_bound(tiny, tmp_path):
    r = m4.verify(tiny.header, held_out_windows.pick(tiny.dataset, 2, 100), tmp_path,
                  log=lambda _: None, trace_windows=0)
    b = r["breakdown"]
    # the bound counts tail calls as nested frames, so it may exceed what runs; it leaves out
    # memcpy and libgcc's 64-bit division, small leaves that the painted stack includes
    assert b["stack_static_path"][0] == "dlnet_run"
    assert b["stack_static_bound_bytes"] // 2 < r["stack_bytes"] <= b["stack_static_bound_bytes"] + 128


@needs_m4
def test_a_corrupted_model_header_is_rejected_by_the_firmware(tiny, tmp_path):
    bad = corrupt(tiny.header, tmp_path / "dlnet_model.h")
    with pytest.raises(qemu.FirmwareError, match="DLNET_ERR_CHECKSUM") as e:
        m4.verify(bad, held_out_windows.pick(tiny.dataset, 2, 100), tmp_path / "build", log=lambda _: None)
    assert e.value.code == -5


@needs_m4
def test_a_mismatch_fails_the_rule_and_writes_no_report(tiny, tmp_path, monkeypatch):
    real = reference.run
    monkeypatch.setattr(m4.reference, "run",
                        lambda qm, x, s=None: real(qm, x, s) + (np.arange(len(x)) == 1)[:, None])
    out = SimpleNamespace(report=str(tmp_path / "m4_report.json"), elf=str(tmp_path / "m4/app.elf"))
    inputs = SimpleNamespace(header=str(tiny.header), dataset=str(tiny.dataset),
                             selected=str(tiny.selected), core=list(map(str, core_files.sources())),
                             m4=[str(ROOT / "firmware/m4/main.c")])
    with pytest.raises(m4.Mismatch, match="1 of 4 windows"):
        settings = {"windows": 4, "optimize": "Os", "cpi": {"low": 1.0, "high": 2.0}, "qemu_timeout": 600}
        firmware_m4.run(inputs, out, SimpleNamespace(firmware=settings), str(tmp_path / "log"))
    assert not Path(out.report).exists() and not Path(out.elf).exists()
    assert '"all_bit_exact": false' in (tmp_path / "log").read_text()


@needs_m4
def test_the_image_is_reproducible(tiny, tmp_path):
    from dlnet.firmware import m4build, tools

    gcc = tools.m4_tools()["gcc"]
    text = held_out_windows.m4_header(held_out_windows.pick(tiny.dataset, 2, 100).q)
    a = m4build.build(gcc, tmp_path / "a", tiny.header, text).elf.read_bytes()
    b = m4build.build(gcc, tmp_path / "b", tiny.header, text).elf.read_bytes()
    assert a == b
    # the core's objects copied from an earlier build (rule latency builds one image per model)
    # make the same image, with the call graph the stack bound reads; other flags refuse them
    reused = m4build.build(gcc, tmp_path / "c", tiny.header, text, reuse=tmp_path / "a")
    assert reused.elf.read_bytes() == a and len(reused.commands) == 2     # main.c and the link
    assert [p.name for p in reused.callgraph_files()] == [
        p.name for p in m4build.build(gcc, tmp_path / "d", tiny.header, text).callgraph_files()]
    with pytest.raises(ValueError, match="cannot reuse"):
        m4build.build(gcc, tmp_path / "e", tiny.header, text, optimize="O2", reuse=tmp_path / "a")


@needs_m4
def test_rule_firmware_m4_in_snakemake(tiny, tmp_path):
    wd = firmware_workflow(tmp_path / "wf", tiny, optimize="O2")
    snakemake(wd, "results/t/firmware/m4_report.json", "--cores", "1", "--configfile", "config.yaml")
    r = json.loads((wd / "results/t/firmware/m4_report.json").read_text())
    assert r["all_bit_exact"] and r["windows_compared"] == 5 and r["model"] == "tiny"
    assert r["build"]["optimize"] == "O2" and "-O2" in r["build"]["flags"]
    assert (wd / "results/t/firmware/m4/app.elf").exists()
    log = (wd / "results/t/logs/firmware_m4.log").read_text()
    assert "all bit-exact: True" in log and "traced 2 windows" in log
    assert r["cycles_per_inference"]["windows_traced"] == 2
    assert r["latency_ms_estimate"]["low"] < r["latency_ms"]["low"] < r["latency_ms"]["high"]


def synthetic(q, output_len, s=None):
    """A held_out_windows.Selection of Q7.24 windows (and raw signals s) that come from no
    dataset."""
    n = len(q)
    return held_out_windows.Selection(q=q, y=np.zeros((n, output_len)), split=np.array(["random"] * n),
                             cell=np.array(["-"] * n), start=np.zeros(n, int), s=s)


@needs_m4
@pytest.mark.parametrize("defines", [(), ("DLNET_PORTABLE",)], ids=["dsp", "portable"])
def test_qemu_matches_the_reference_on_random_models(tmp_path, defines):
    """The core's DSP path (the M4 build's default) and its portable C (-DDLNET_PORTABLE), on
    random models of both couplings whose sizes leave dot product tails and odd numbers of
    rows, a quarter of the windows hostile (any int32, flat); the last two read 1 to 3 signals
    (the first's integers from the Scaler, the second's random), a quarter of their raw values
    hostile (any int32, its ends). On the DSP path, which the rule builds, the trace of each
    model's costliest window holds only instructions m4cycles has a timing for."""
    rng = np.random.default_rng(2024)
    dims = []
    for i, coupling in enumerate(("full", "lowrank", "full", "lowrank")):
        k = int(rng.integers(1, 4)) if i >= 2 else 0
        model, scaler = random_model(rng, coupling, signals=k)
        qm = qmodel.quantize(model, scaler, calibration_inputs(rng, 64, model.cfg.input_len, scaler))
        qm = with_random_signals(qm, rng) if i == 3 else qm
        path = tmp_path / f"model{i}.h"
        path.write_text(header.text(qm, source="random"))
        dims.append(qm.dims)
        q = mixed_windows(rng, 12, qm.dims["input_len"])
        s = signal_values(rng, 12, qm.signals) if k else None
        r = m4.verify(path, synthetic(q, qm.dims["output_len"], s), tmp_path / f"run{i}",
                      log=lambda _: None, defines=defines, trace_windows=0 if defines else 1)
        assert r["all_bit_exact"], (coupling, qm.dims, r["max_abs_diff_lsb"])
        assert defines or 1 < r["cycles_per_instruction"] < 3   # m4cycles knows every instruction
    assert any(d["n_inputs"] % 4 for d in dims) and any(d["enc_hidden"] % 2 for d in dims)
    assert [d["signals"] > 0 for d in dims] == [False, False, True, True]


@needs_m4
def test_the_dsp_path_is_built_and_pays(tmp_path):
    """The M4 core's ops use SMLAD/SXTB16 unless built -DDLNET_PORTABLE. On a paper-sized
    student (width 4, hidden 256/256/128, random weights) the DSP build needs under 3.2
    instructions per multiply-accumulate (measured 2.7; 9.8 before that path and the folded
    zero points) and under 70% of the portable build's (measured 64%: dlnet_ops.c's loops are
    built at -O2 either way, which unrolls the portable ones too)."""
    rng = np.random.default_rng(5)
    model = randomized(LiquidNet(student_config(4, 256, 256, 128, dropout=0.0)), rng)
    qm = qmodel.quantize(model, Scaler("anchored", span=0.1, anchor_len=10),
                         soh_windows(rng, 64, 100))
    path = tmp_path / "dlnet_model.h"
    path.write_text(header.text(qm, source="paper-sized"))
    selection = synthetic(soh_to_q_in(soh_windows(rng, 2, 100)), 100)
    ins = {}
    for name, defines in (("dsp", ()), ("portable", ("DLNET_PORTABLE",))):
        r = m4.verify(path, selection, tmp_path / name, log=lambda _: None, defines=defines,
                      trace_windows=0)
        assert r["all_bit_exact"]
        ins[name] = r["instructions_per_inference"]["max"]
        code = subprocess.run([shutil.which("arm-none-eabi-objdump"), "-d",
                               str(tmp_path / name / "dlnet_ops.o")],
                              capture_output=True, text=True, check=True).stdout
        assert ("smlad" in code and "sxtb16" in code) == (name == "dsp")
    assert ins["dsp"] / macs(model) < 3.2 and ins["dsp"] < 0.7 * ins["portable"]


def test_transcript_parsing_names_the_cores_error():
    ok = ("calib ticks=5000 instructions=200000\noverhead ticks=0\ninit rc=0 ticks=100 DLNET_OK\n"
          "window 0 rc=0 ticks=10 stack=96 y=1,2,3\nwindow 1 rc=0 ticks=11 stack=96 y=4,5,-6\n")
    run = qemu.parse(0, ok, 3)
    assert run["y"].tolist() == [[1, 2, 3], [4, 5, -6]] and run["ticks"].tolist() == [10, 11]
    with pytest.raises(qemu.FirmwareError, match="DLNET_ERR_VERSION") as e:
        qemu.parse(3, "calib ticks=1 instructions=2\noverhead ticks=0\ninit rc=-3 ticks=5 "
                   "DLNET_ERR_VERSION\n", 3)
    assert e.value.code == -3
    with pytest.raises(qemu.FirmwareError, match="faulted"):
        qemu.parse(5, "calib ticks=1 instructions=2\n", 3)


def test_static_stack_bound_follows_the_deepest_call(tmp_path):
    (tmp_path / "a.ci").write_text(
        'node: { title: "f" label: "f\\na.c:1:5\\n40 bytes (static)" }\n'
        'node: { title: "a.c:g" label: "g\\na.c:9:5\\n16 bytes (static)" }\n'
        'node: { title: "h" label: "h\\na.c:19:5\\n8 bytes (static)" }\n'
        'edge: { sourcename: "f" targetname: "a.c:g" }\n'
        'edge: { sourcename: "f" targetname: "h" }\n'
        'edge: { sourcename: "a.c:g" targetname: "memcpy" }\n')
    r = stack.worst_case([tmp_path / "a.ci"], "f")
    assert r == {"bytes": 56, "path": ["f", "g"], "external": ["memcpy"]}
    (tmp_path / "b.ci").write_text('edge: { sourcename: "h" targetname: "f" }\n')
    with pytest.raises(stack.StackError, match="recursive"):
        stack.worst_case([tmp_path / "a.ci", tmp_path / "b.ci"], "f")


def test_latency_estimate_brackets_cycles_per_instruction():
    assert latency.estimate(64_000) == {"low": 1.0, "high": 2.0}
    assert latency.estimate(64_000, {"high": 3.0})["high"] == 3.0
    with pytest.raises(ValueError):
        latency.estimate(1, {"low": 2.0, "high": 1.0})


# A function as objdump prints it, and QEMU's log of one call: what m4cycles reads.
OBJDUMP = """
00001000 <f>:
    1000:\tb570      \tpush\t{r4, r5, r6, lr}
    1002:\t6803      \tldr\tr3, [r0, #0]
    1004:\t6844      \tldr\tr4, [r0, #4]
    1006:\tfb23 5504 \tsmlad\tr5, r3, r4, r5
    100a:\t2b00      \tcmp\tr3, #0
    100c:\td0f9      \tbeq.n\t1002 <f+0x2>
    100e:\tbd70      \tpop\t{r4, r5, r6, pc}
"""


def qemu_log(steps):
    """QEMU's -d exec,cpu log of one instruction per block: `steps` of (pc, {register: value})
    or a raw line."""
    lines = []
    for step in steps:
        if isinstance(step, str):
            lines.append(step)
            continue
        pc, given = step
        r = {0: 0, 13: 0x2000_7F00, 14: 0x2001, 15: pc, **given}
        lines.append(f"Trace 0: 0x7f3a2c000{pc:03x} [00800408/{pc:08x}/00000110/ff020201] f")
        lines += [" ".join(f"R{i:02d}={r.get(i, 0):08x}" for i in range(k, k + 4))
                  for k in (0, 4, 8, 12)]
        lines.append(f"XPSR={given.get('xpsr', 0x01000000):08x} ---- T priv-thread")
    return "\n".join(lines) + "\n"


def test_cycles_of_handwritten_trace_lines(tmp_path):
    """A push of 4 registers (1 + 4), a load (2) and one pipelined behind it (1), an SMLAD (1),
    a taken branch (1 + P) and, on the second pass, the same branch not taken (1); the pop into
    pc is a taken branch (1 + 4 + P). The four loads read flash (0x3000): one wait state each
    at the high end; the pop reads the stack. A block QEMU logged and then did not run (its
    instruction budget ran out) is not counted."""
    prog = m4cycles.program(OBJDUMP)
    flash = {0: 0x3000}
    log = tmp_path / "trace.log"
    log.write_text(qemu_log([
        (0x1000, {}), (0x1002, flash), (0x1004, flash), (0x1006, {}), (0x100A, {}),
        (0x100C, {}),
        (0x1002, flash),
        "Stopped execution of TB chain before 0x7f3a2c000002 [00001002] f",
        (0x1002, flash), (0x1004, flash), (0x1006, {}), (0x100A, {}), (0x100C, {}),
        (0x100E, {13: 0x2000_7EF0}), (0x2000, {})]))
    at = {a for a, i in prog.items() if m4cycles.needs_registers(i)} | {0x1000}
    trace = list(qemu.read_trace(log, at))
    assert [pc for pc, _ in trace].count(0x1002) == 2 and trace[0][1][14] == 0x2001
    [call] = m4cycles.calls(trace, prog, 0x1000)
    P = m4cycles.P
    assert call.instructions == 12
    assert call.cycles == 5 + (2 + 1 + 1 + 1 + (1 + P)) + (2 + 1 + 1 + 1 + 1) + (1 + 4 + P)
    assert call.flash_words == 4 and call.taken_branches == 2
    assert call.kinds["load pipelined"] == 2 and call.kinds["load"] == 2
    assert call.kinds["multiply"] == 2 and call.kinds["branch not taken"] == 1


def test_cost_of_single_instructions():
    """What the TRM says of a few more: a load is not pipelined when its address needs the
    previous load's result, nor behind a store; an address computed by the instruction right
    before waits a cycle; an instruction of an IT block whose condition fails takes 1 cycle and
    reads nothing; LDRD reads two words; an instruction with no timing here stops the count."""
    prog = m4cycles.program("\n".join(f"    {a:x}:\t0000      \t{text}" for a, text in [
        (0x10, "ldr\tr3, [r0, #8]"), (0x12, "ldr\tr2, [r3]"), (0x14, "ldrsh\tr6, [r1], #2"),
        (0x16, "str\tr2, [r1, r4]"), (0x18, "ldrb\tr5, [r1, #1]"), (0x1a, "adds\tr1, #4"),
        (0x1c, "ldrne\tr0, [r1]"), (0x1e, "ldrd\tr2, r3, [r0, #8]"), (0x20, "sdiv\tr0, r1, r2"),
        (0x22, "vldr\ts0, [r0]")]))
    regs = {**{i: 0x2000_0000 for i in range(16)}, 0: 0x100, 3: 0x2000_0100,
            "xpsr": 0x4000_0000}                                # Z set: 'ne' fails
    cost = m4cycles.cost
    load = cost(prog[0x10], regs, None, False)
    assert (load.cycles, load.flash_words, load.kind) == (2, 1, "load")    # 0x108: flash
    assert cost(prog[0x12], regs, load, False).cycles == 2                 # needs r3 just loaded
    post = cost(prog[0x14], regs, load, False)
    assert (post.cycles, post.flash_words, post.kind) == (1, 0, "load pipelined")   # RAM
    store = cost(prog[0x16], regs, post, False)
    assert store.cycles == 1 and cost(prog[0x18], regs, store, False).cycles == 2
    add = cost(prog[0x1a], regs, None, False)
    assert cost(prog[0x18], regs, add, False).cycles == 3                  # r1 just computed
    assert cost(prog[0x1c], regs, None, False) == m4cycles.Step(1, kind="condition failed")
    assert cost(prog[0x1e], regs, None, False).flash_words == 2
    assert cost(prog[0x20], regs, None, False).cycles == m4cycles.DIVIDE
    with pytest.raises(m4cycles.UnknownInstruction, match="vldr"):
        cost(prog[0x22], regs, None, False)
    with pytest.raises(ValueError, match="not a branch"):
        cost(prog[0x1a], regs, None, True)


@needs_m4
def test_cycles_from_the_instruction_trace(tiny, tmp_path):
    """The traced windows are those with the most instructions; the trace holds as many
    instructions as SysTick counted (to its resolution); each costs 1 to 3 cycles; the latency
    range is the cycles without and with a wait state per word loaded from flash."""
    r = m4.verify(tiny.header, held_out_windows.pick(tiny.dataset, 4, 100), tmp_path,
                  log=lambda _: None, trace_windows=2)
    b = r["breakdown"]["cycles"]
    counted = [w["instructions"] for w in r["windows"]]
    assert sorted(counted[i] for i in b["windows"]) == sorted(counted)[-2:]
    per_tick = r["breakdown"]["instructions_per_systick"]
    for traced, systick in zip(b["instructions_traced"], b["instructions_systick"]):
        assert abs(traced - systick) <= 3 * per_tick                    # m4.cycles' check
    cycles = r["cycles_per_inference"]
    worst = max(b["instructions_traced"])
    assert worst < cycles["max"] < 3 * worst and 1 < r["cycles_per_instruction"] < 3
    assert sum(k["instructions"] for k in b["by_kind"].values()) in b["instructions_traced"]
    assert b["by_kind"]["multiply"]["instructions"] > 0                  # the SMLAD dot products
    lat = r["latency_ms"]
    assert lat["low"] == pytest.approx(cycles["max"] / 64e3)
    assert lat["high"] == pytest.approx((cycles["max"] + b["flash_load_words"]) / 64e3, rel=1e-3)
    assert b["flash_load_words"] > 0 and lat["method"] == m4.METHOD
    assert [w.get("cycles") is not None for w in r["windows"]].count(True) == 2


@needs_m4
def test_a_trace_that_disagrees_with_systick_fails(tiny, tmp_path):
    sel = held_out_windows.pick(tiny.dataset, 2, 100)
    with pytest.raises(m4.TraceMismatch, match="SysTick counted"):
        m4.cycles(tools.m4_tools(), np.array([900_000, 900_000]), 40.0, sel.q, sel.model_signals(0),
                  tiny.header, tmp_path, 120, lambda _: None)
