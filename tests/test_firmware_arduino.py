"""The Arduino sketch: compiled and run on the host against the Arduino stand-in (answers equal
the NumPy int8 reference, for a model without signals and for one reading the cycle number on
its `W` line), the firmware_arduino rule with a stand-in arduino-cli, and its message when
arduino-cli is missing. arduino-cli itself cannot run here (it downloads its
board core), so the board build is left to a connected machine.
"""

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import ROOT, firmware_workflow, snakemake
from dlnet.firmware import arduino, core_files, held_out_windows, sketchhost, tools
from dlnet.io import read_json
from dlnet.quant import header, reference
from dlnet.quant.fixedpoint import soh_to_q_in
from dlnet.run import firmware_arduino
from test_firmware_m4 import real_dataset, tiny_firmware, tiny_model_header

needs_host = pytest.mark.skipif(shutil.which("gcc") is None or shutil.which("g++") is None,
                                reason="gcc and g++ not on PATH: apt-get install gcc g++")
FAKE_CLI = ROOT / "tests" / "data" / "fake_arduino_cli" / "arduino-cli"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny_sketch")
    splits, scaler = real_dataset(d / "dataset.npz")
    qm = tiny_model_header(d / "dlnet_model.h", splits, scaler)
    (d / "selected.json").write_text('{"name": "tiny", "model": "tiny/model.pt"}')
    return SimpleNamespace(dir=d, dataset=d / "dataset.npz", header=d / "dlnet_model.h",
                           selected=d / "selected.json", qm=qm, splits=splits)


@pytest.fixture(scope="module")
def tiny_cycle(tmp_path_factory):
    """The tiny student reading the cycle number beside the window."""
    return tiny_firmware(tmp_path_factory.mktemp("tiny_cycle_sketch"), signals=["cycle"])


def cycle_sketch(tiny_cycle, tmp_path, sanitize=False):
    """The sketch of the cycle-reading student, its self-test on a held-out window and its cycle
    number, built on the host; (executable, that window's Selection)."""
    sample = held_out_windows.pick(tiny_cycle.dataset, 1, 100)
    expected = reference.run(tiny_cycle.qm, sample.q, sample.signals)[0]
    sketch = arduino.stage(tmp_path / "nano33ble", tiny_cycle.header,
                           held_out_windows.sample_header(sample.q[0], expected, sample.source(0),
                                                          signals=sample.signals[0]))
    return sketchhost.build(sketch, tmp_path / "sketch", sanitize=sanitize), sample


def rule_io(tiny, out):
    inputs = SimpleNamespace(header=str(tiny.header), dataset=str(tiny.dataset),
                             selected=str(tiny.selected),
                             core=[str(ROOT / f) for f in core_files.rule_inputs()],
                             sketch=str(ROOT / "firmware/nano33ble/nano33ble.ino"))
    outputs = SimpleNamespace(sketch=str(out / "firmware/nano33ble"),
                              size=str(out / "firmware/arduino_size.json"))
    return inputs, outputs


def path_with(tmp_path, cli=False):
    """PATH without any arduino-cli, then with the stand-in one first if `cli`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    if cli:
        shutil.copy(FAKE_CLI, bin_dir / "arduino-cli")
        (bin_dir / "arduino-cli").chmod(stat.S_IRWXU)
    dirs = [d for d in os.environ["PATH"].split(os.pathsep) if d and not (Path(d) / "arduino-cli").exists()]
    return os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), *dirs])


def test_missing_arduino_cli_fails_at_once_and_writes_nothing(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", path_with(tmp_path))
    inputs, outputs = rule_io(tiny, tmp_path / "results")
    log = tmp_path / "results/logs/firmware_arduino.log"
    with pytest.raises(tools.ToolMissing) as e:
        firmware_arduino.run(inputs, outputs, SimpleNamespace(arduino={"timeout": 60}), str(log))
    message = str(e.value)
    assert "arduino-cli is not on PATH" in message
    assert "arduino-cli core install arduino:mbed_nano" in message
    assert "firmware: {arduino: false}" in message
    assert not (tmp_path / "results").exists()


def test_enabled_arduino_build_without_arduino_cli_stops_the_workflow_before_any_job(tiny, tmp_path):
    wd = firmware_workflow(tmp_path / "wf", tiny, arduino=True)
    targets = ["results/t/firmware/arduino_size.json", "results/t/firmware/m4_report.json"]
    env_path = os.environ["PATH"]
    try:
        os.environ["PATH"] = path_with(tmp_path)
        dry = snakemake(wd, "-n", *targets, "--configfile", "config.yaml", check=False)
        proc = snakemake(wd, *targets, "--cores", "1", "--configfile", "config.yaml", check=False)
    finally:
        os.environ["PATH"] = env_path
    assert dry.returncode == 0          # planning (and cluster jobs) parse without arduino-cli
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "arduino-cli is not on PATH" in out and "arduino:mbed_nano" in out
    assert not (wd / "results/t/firmware").exists()   # not even the M4 job ran


def test_rule_stages_the_sketch_and_reads_the_size_report(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", path_with(tmp_path, cli=True))
    inputs, outputs = rule_io(tiny, tmp_path / "results")
    firmware_arduino.run(inputs, outputs, SimpleNamespace(arduino={"timeout": 60}), str(tmp_path / "log"))
    size = read_json(outputs.size)
    assert size["flash_bytes"] == 123456 and size["ram_bytes"] == 45678
    assert size["ram_left_bytes"] == 262144 - 45678
    assert size["fqbn"] == "arduino:mbed_nano:nano33ble" and size["model"] == "tiny"
    assert size["platform"] == {"id": "arduino:mbed_nano", "version": "0.0.0-test"}
    assert size["model_bytes"] == len(header.read_bytes(tiny.header))
    sketch = Path(outputs.sketch)
    assert sorted(p.name for p in sketch.iterdir()) == sorted(
        ["build", *core_files.SOURCES, *core_files.HEADERS, "dlnet_model.h", "dlnet_sample.h",
         "nano33ble.ino"])
    assert (sketch / "dlnet_model.h").read_text() == tiny.header.read_text()
    assert not [p for p in sketch.parent.iterdir() if p.name.startswith(".")]   # no staging left


@needs_host
def test_rule_stages_a_sketch_whose_self_test_passes_the_signals(tiny_cycle, tmp_path, monkeypatch):
    """For a model reading the cycle number, the staged dlnet_sample.h carries the self-test
    window's cycle number and the forecast from both; the staged sketch, built on the host,
    passes its self-test."""
    monkeypatch.setenv("PATH", path_with(tmp_path, cli=True))
    inputs, outputs = rule_io(tiny_cycle, tmp_path / "results")
    firmware_arduino.run(inputs, outputs, SimpleNamespace(arduino={"timeout": 60}), str(tmp_path / "log"))
    sketch = Path(outputs.sketch)
    sample = held_out_windows.pick(tiny_cycle.dataset, 1, 100)
    text = (sketch / "dlnet_sample.h").read_text()
    assert "#define DLNET_SAMPLE_SIGNALS 1" in text and f"{{\n    {sample.signals[0, 0]}\n}}" in text
    staged = tmp_path / "host" / "nano33ble"
    shutil.copytree(sketch, staged, ignore=shutil.ignore_patterns("build"))
    out = sketchhost.run(sketchhost.build(staged, tmp_path / "sketch"), "")
    assert "self-test ok: 100 values match the NumPy int8 reference" in out


def test_a_missing_board_core_is_named_with_its_install_command(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", path_with(tmp_path, cli=True))
    monkeypatch.setenv("FAKE_ARDUINO_CLI", "no-core")
    inputs, outputs = rule_io(tiny, tmp_path / "results")
    with pytest.raises(arduino.CompileError, match="core install arduino:mbed_nano"):
        firmware_arduino.run(inputs, outputs, SimpleNamespace(arduino={"timeout": 60}), str(tmp_path / "log"))
    assert not Path(outputs.sketch).exists() and not Path(outputs.size).exists()


def test_size_report_from_text_when_there_is_no_json():
    text = ("Sketch uses 181234 bytes (18%) of program storage space. Maximum is 983040 bytes.\n"
            "Global variables use 46080 bytes (17%) of dynamic memory, leaving 216064 bytes for "
            "local variables. Maximum is 262144 bytes.\n")
    s = arduino.sizes({"report": None, "text": text})
    assert (s["flash_bytes"], s["flash_max_bytes"], s["ram_bytes"], s["ram_max_bytes"]) == \
        (181234, 983040, 46080, 262144)
    with pytest.raises(arduino.CompileError, match="no size report"):
        arduino.sizes({"report": None, "text": "done\n"})


@needs_host
def test_sketch_compiles_on_the_host_and_answers_like_the_reference(tiny, tmp_path):
    held_out = held_out_windows.pick(tiny.dataset, 3, 100)
    expected_sample = reference.run(tiny.qm, held_out.q[:1])[0]
    sketch = arduino.stage(tmp_path / "nano33ble", tiny.header,
                           held_out_windows.sample_header(held_out.q[0], expected_sample, held_out.source(0)))
    exe = sketchhost.build(sketch, tmp_path / "sketch")
    soh = tiny.splits["test"].x[:3]
    lines = sketchhost.request(soh)
    # the sketch's rounding of decimals is soh_to_q_in's, applied to the decimals it was sent
    sent = np.array([[float(v) for v in line.split()[1:]] for line in lines.splitlines()])
    out = sketchhost.run(exe, lines + "W 0.9 0.8\nhello\nW " + "x " * 100 + "\nS\n"
                         + lines.splitlines()[0] + " | 120\n")
    assert out.count("self-test ok: 100 values match the NumPy int8 reference") == 2
    got = sketchhost.answers(out)
    assert np.array_equal(got[0], expected_sample)                     # the start-up forecast
    assert np.array_equal(got[1:4], reference.run(tiny.qm, soh_to_q_in(sent)))
    assert np.array_equal(got[4], expected_sample)                     # S: the self-test again
    assert "E expected 100 values, got 2" in out
    assert "E a request is a line 'W v1 v2 ...' of past SOH values, or 'S'" in out
    assert "E value 1 is not a plain decimal number" in out
    assert "E this model takes no signals" in out
    assert all(line.split()[-1].startswith("us=") for line in out.splitlines() if line.startswith("P "))


@needs_host
def test_sketch_with_the_cycle_signal_answers_like_the_reference(tiny_cycle, tmp_path):
    """'W v1 ... v100 | cycle': the self-test passes the sample's cycle number, each answer
    equals the reference on the decimals and the integer sent, any int32 included; '|' may
    follow a value directly and the integer may carry a sign."""
    exe, sample = cycle_sketch(tiny_cycle, tmp_path)
    test = tiny_cycle.splits["test"]
    soh, cycles = test.x[:3], np.rint(test.s[:3]).astype(np.int64)
    lines = sketchhost.request(soh, cycles)
    assert lines.splitlines()[0].endswith(f" | {cycles[0, 0]}")
    sent = np.array([[float(v) for v in line.split("|")[0].split()[1:]] for line in lines.splitlines()])
    values = lines.splitlines()[0].split("|")[0].rstrip()
    extremes = [-2 ** 31, 2 ** 31 - 1, 0, -7]
    extra = "".join(f"{values} | {v}\n" for v in extremes) + f"{values}|+{cycles[0, 0]}\nS\n"
    out = sketchhost.run(exe, lines + extra)
    assert out.count("self-test ok: 100 values match the NumPy int8 reference") == 2
    assert "ready: send 'W v1 ... v100 | s1 ... s1'" in out
    got = sketchhost.answers(out)
    assert len(got) == 1 + 3 + len(extremes) + 2
    assert np.array_equal(got[0], reference.run(tiny_cycle.qm, sample.q, sample.signals)[0])
    assert np.array_equal(got[1:4], reference.run(tiny_cycle.qm, soh_to_q_in(sent), cycles))
    q0 = np.repeat(soh_to_q_in(sent[:1]), len(extremes), axis=0)
    assert np.array_equal(got[4:8], reference.run(tiny_cycle.qm, q0, np.array(extremes)[:, None]))
    assert np.array_equal(got[8], got[1])                       # '|+cycle' is '| cycle'
    assert np.array_equal(got[9], got[0])                       # S: the self-test again
    assert len({tuple(g) for g in got[1:8]}) > 3                # the cycle changes the forecast


@needs_host
def test_sketch_with_the_cycle_signal_refuses_malformed_signals(tiny_cycle, tmp_path):
    exe, _ = cycle_sketch(tiny_cycle, tmp_path)
    values = " ".join(f"{v:.6f}" for v in tiny_cycle.splits["test"].x[0])
    cases = [(values, "E expected '|' and 1 signals after the 100 values"),
             (values + " |", "E expected 1 signals, got 0"),
             (values + " | 300 301", "E more than 1 signals"),
             (values + " | 300.0", "E signal 1 is not a plain integer"),
             (values + " | 3e2", "E signal 1 is not a plain integer"),
             (values + " | x", "E signal 1 is not a plain integer"),
             (values + " | | 300", "E signal 1 is not a plain integer"),
             (values + " | 2147483648", "E signal 1 is outside the int32 range"),
             (values + " | -2147483649", "E signal 1 is outside the int32 range"),
             (values + " | 99999999999999999999999", "E signal 1 is outside the int32 range"),
             (values.rsplit(" ", 1)[0] + " | 300", "E expected 100 values, got 99"),
             (values + " 0.9 | 300", "E more than 100 values"),
             ("| 300", "E a request is a line"),
             (" ".join(values.split()[:50] + ["0"] + values.split()[51:]) + " | 300",
              "E value 51 is outside (0, 1.25] SOH")]
    out = sketchhost.run(exe, "".join(f"W {line}\n" if not line.startswith("|") else line + "\n"
                                      for line, _ in cases))
    answers = [a for a in out.splitlines() if a.startswith(("P ", "E "))][1:]
    assert len(answers) == len(cases)
    for (line, want), got in zip(cases, answers):
        assert got.startswith(want), (line[-30:], got)


@needs_host
def test_sketch_with_the_cycle_signal_answers_every_garbled_line_without_a_sanitizer_finding(
        tiny_cycle, tmp_path):
    """Requests with signals damaged at random bytes, '|' among them, and random lines, built
    with ASan/UBSan: one answer per line, never a crash; a forecast only from a line of 100
    plain SOH values in (0, 1.25], a '|' and one int32."""
    exe, _ = cycle_sketch(tiny_cycle, tmp_path, sanitize=True)
    rng = np.random.default_rng(4)
    good = sketchhost.request(tiny_cycle.splits["test"].x[:1], [[300]]).strip()
    alphabet = list("0123456789.-+ ,\t|WSExn\x00\xff")
    lines = []
    for _ in range(300):
        if rng.random() < 0.3:
            lines.append("".join(rng.choice(alphabet, int(rng.integers(0, 60)))))
        else:
            chars = list(good)
            for _ in range(int(rng.integers(1, 4))):
                at = int(rng.integers(len(chars) - 20, len(chars))) if rng.random() < 0.5 \
                    else int(rng.integers(0, len(chars)))
                chars[at] = str(rng.choice(alphabet))
            lines.append("".join(chars))
    out = sketchhost.run(exe, "".join(line + "\n" for line in lines), timeout=300)
    answers = [a for a in out.splitlines() if a.startswith(("P ", "E "))][1:]
    asked = [line for line in lines if line.strip(" ,\t")]
    assert len(answers) == len(asked)
    forecasts = 0
    for line, got in zip(asked, answers):
        if got.startswith("P "):
            forecasts += 1
            head, tail = line.split("|")
            values = re.split(r"[ ,\t]+", head.strip(" ,\t"))[1:]
            assert len(values) == 100 and all(0 < float(v) <= 1.25 for v in values), line
            assert re.fullmatch(r"[ ,\t]*[-+]?\d+[ ,\t]*", tail) and -2 ** 31 <= int(
                tail.strip(" ,\t")) < 2 ** 31, line
    assert 0 < forecasts < len(asked)


@needs_host
def test_sketch_rounds_decimals_like_the_reference(tiny, tmp_path):
    """Halves up (ties k/2^25 included, written out in their 25 digits), signs and long
    fractions as soh_to_q_in rounds the decimal's exact value, in a window the input guard
    accepts; values it does not (negative, saturated) are refused by position."""
    from decimal import Decimal

    sample = held_out_windows.pick(tiny.dataset, 1, 100)
    sketch = arduino.stage(tmp_path / "nano33ble", tiny.header,
                           held_out_windows.sample_header(sample.q[0], reference.run(tiny.qm, sample.q)[0], "x"))
    exe = sketchhost.build(sketch, tmp_path / "sketch")
    tie = 30198989 / 2 ** 25                             # 0.899999976158142089843750: rounds up
    exact = str(Decimal(tie))
    assert len(exact.split(".")[1]) == 25
    values = [exact, exact + "0000001", "+0.9", ".9", "0.900", "0.9123456789123456789012345678",
              exact[:-1] + "49", "0.90003"] + ["0.9"] * 92
    x = soh_to_q_in(np.array([float(v) for v in values]))
    assert x[0] == 15099495 and x[1] == 15099495
    assert soh_to_q_in(np.array([float(exact[:-1] + "49")]))[0] == 15099495   # the float is the tie
    out = sketchhost.run(exe, "W " + ",".join(values) + "\n")
    got = sketchhost.answers(out)[1]
    # the decimal just below the tie rounds down on the board: the float of it is the tie itself
    x[6] = 15099494
    assert np.array_equal(got, reference.run(tiny.qm, x[None, :])[0])
    refused = sketchhost.run(exe, "".join(
        "W " + " ".join(values[:k] + [bad] + values[k + 1:]) + "\n"
        for k, bad in ((3, "-0.0000000298023223876953125"), (4, "-2"), (5, "7"),
                       (6, "0.00000002"))))
    for k in (3, 4, 5, 6):
        assert f"E value {k + 1} is outside (0, 1.25] SOH" in refused


@pytest.mark.skipif(shutil.which("arm-none-eabi-g++") is None,
                    reason="arm-none-eabi-g++ not on PATH: apt-get install gcc-arm-none-eabi")
@pytest.mark.parametrize("signals", [False, True], ids=["plain", "cycle"])
def test_sketch_compiles_for_the_cortex_m4_with_the_mbed_cores_flags(tiny, tiny_cycle, tmp_path,
                                                                     signals):
    """The Arduino core's own headers are not here; its code-generation flags are."""
    from dlnet.firmware import m4build

    model = tiny_cycle if signals else tiny
    sample = held_out_windows.pick(model.dataset, 1, 100)
    sketch = arduino.stage(tmp_path / "nano33ble", model.header,
                           held_out_windows.sample_header(sample.q[0], sample.q[0] >> 10, "x",
                                                          signals=sample.signals[0]))
    cmd = ["arm-none-eabi-g++", *m4build.CPU, "-Os", *m4build.CODEGEN, "-std=gnu++14", "-Wall",
           "-Wextra", "-Werror", f"-I{sketchhost.STUB_DIR}", f"-I{sketch}", "-x", "c++", "-c",
           str(sketch / "nano33ble.ino"), "-o", str(tmp_path / "sketch.o")]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@needs_host
def test_a_corrupt_model_is_reported_by_the_sketch(tiny, tmp_path):
    from test_firmware_m4 import corrupt

    sample = held_out_windows.pick(tiny.dataset, 1, 100)
    bad = corrupt(tiny.header, tmp_path / "bad_model.h")
    sketch = arduino.stage(tmp_path / "nano33ble", bad,
                           held_out_windows.sample_header(sample.q[0], sample.q[0] >> 10, "x"))
    out = sketchhost.run(sketchhost.build(sketch, tmp_path / "sketch"), "W " + "0.9 " * 100 + "\n")
    assert "E dlnet_model_init: DLNET_ERR_CHECKSUM (-5)" in out
    assert "E dlnet_run: DLNET_ERR_MODEL (-8)" in out and "self-test" not in out


def glitch_lines(rng, clean):
    """Request lines as a BMS stream and a noisy serial link garble them, with the answer each
    must get: (line, expected answer's start)."""
    decimals = [f"{v:.6f}" for v in clean]

    def w(values):
        return "W " + " ".join(values)
    cases = [(w(decimals), "P "),
             (w(decimals[:50] + ["0.000000"] + decimals[51:]), "E value 51 is outside (0, 1.25] SOH"),
             (w(decimals[:50] + [f"{2.88 / 1.1:.6f}"] + decimals[51:]), "E value 51 is outside"),
             (w(decimals[:50] + ["1e9"] + decimals[51:]), "E value 51 is not a plain decimal"),
             (w(decimals[:50] + ["99999999999999999999"] + decimals[51:]), "E value 51 is outside"),
             (w(decimals[:50] + [f"{clean[49] - 0.08:.6f}"] + decimals[51:]),
              "E value 51 is more than 0.05 SOH from the median"),
             (w(decimals[:50] + ["nan"] + decimals[51:]), "E value 51 is not a plain decimal"),
             (w(decimals[:99]), "E expected 100 values, got 99"),
             (w(decimals + ["0.9"]), "E more than 100 values"),
             ("W " + "0.9 " * 3000, "E line too long"),
             ("hello", "E a request is a line"),
             ("W", "E a request is a line")]
    alphabet = list("0123456789.-+ ,\tWSEenaifx\x00\x7f\xff")
    for _ in range(300):        # random bytes, and valid lines with random damage
        if rng.random() < 0.5:
            text = "".join(rng.choice(alphabet, int(rng.integers(0, 400))))
        else:
            chars = list(w(decimals))
            for _ in range(int(rng.integers(1, 8))):
                chars[int(rng.integers(0, len(chars)))] = str(rng.choice(alphabet))
            text = "".join(chars)
        cases.append((text.replace("\n", " "), None))
    return cases


@needs_host
def test_the_sketch_answers_every_garbled_line_without_a_sanitizer_finding(tiny, tmp_path):
    """The serial protocol under a bounded fuzz, built with ASan/UBSan: glitched SOH windows get
    the input guard's `E` line, malformed lines their own, random bytes and damaged requests
    one answer per line and never a crash; nothing but a plain window is forecast."""
    sample = held_out_windows.pick(tiny.dataset, 1, 100)
    sketch = arduino.stage(tmp_path / "nano33ble", tiny.header,
                           held_out_windows.sample_header(sample.q[0], reference.run(tiny.qm, sample.q)[0], "x"))
    exe = sketchhost.build(sketch, tmp_path / "sketch", sanitize=True)
    clean = tiny.splits["test"].x[0]
    cases = glitch_lines(np.random.default_rng(3), clean)
    out = sketchhost.run(exe, "".join(line + "\n" for line, _ in cases), timeout=300)
    answers = [a for a in out.splitlines() if a.startswith(("P ", "E "))]
    answers = answers[1:]                                     # the start-up self-test's P line
    assert len(answers) == len(cases) - sum(1 for line, _ in cases if not line.strip(" ,\t"))
    by_line = iter(answers)
    for line, want in cases:
        if not line.strip(" ,\t"):
            continue                                          # an empty line gets no answer
        got = next(by_line)
        if want is not None:
            assert got.startswith(want), (line[:80], got)
        elif got.startswith("P "):
            values = re.split(r"[ ,\t]+", line.strip(" ,\t"))[1:]  # forecast from a clean window
            assert len(values) == 100 and all(0 < float(v) <= 1.25 for v in values), line[:80]
