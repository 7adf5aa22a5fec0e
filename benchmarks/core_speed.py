"""Instructions and cycles per inference and per multiply-accumulate of the int8 core on an M4.

    python benchmarks/core_speed.py [--optimize Os O2] [--windows 4] [--trace-windows 1]
                                    [--profile] [--portable] [--only TEXT] [--signals K]
                                    [--header NAME=path/dlnet_model.h ...]

Builds the Cortex-M4 image of each model (dlnet.firmware.m4build: the Arduino mbed core's flags),
runs it in QEMU (mps2-an386, -icount shift=0) and prints one line per model and optimization:
instructions per inference (mean over the windows), per MAC (dlnet.cost.macs of the model's
shape), the core's code size, and whether every output equals the NumPy reference bit for bit;
then Cortex-M4 cycles per inference (max over the --trace-windows windows with the most
instructions, dlnet.firmware.m4cycles on QEMU's instruction trace), per MAC, cycles per
instruction and the latency at 64 MHz without and with one flash wait state per load.
--profile adds the instructions of every layer of one inference (a main that times the parts
of dlnet_run: dlnet_run_start, each dlnet_run_layer, dlnet_run_finish; SysTick resolution, about
40 instructions per part).
--portable also measures the core built with -DDLNET_PORTABLE (its plain C path, no DSP).

Built-in models have random weights (dlnet.quant.random_models; the count barely depends on the
weights): the deployable student (width 4, hidden 16/16/16), a paper-sized student (width 4,
hidden 256/256/128) and a small full-coupling teacher (3 Euler steps); --signals gives each of
them K signals beside the window (random raw values, dlnet.quant.random_models). --header adds
trained models (their windows get random signals too, if they read any).
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dlnet import model as net  # noqa: E402
from dlnet.cost import macs  # noqa: E402
from dlnet.firmware import core_files, held_out_windows, m4, m4build, qemu, tools  # noqa: E402
from dlnet.layers import SEQUENCE  # noqa: E402
from dlnet.quant import header, qmodel, reference  # noqa: E402
from dlnet.quant.fixedpoint import soh_to_q_in  # noqa: E402
from dlnet.quant.random_models import (calibration_inputs, random_signal_scalings,  # noqa: E402
                                       randomized, signal_values, soh_windows)
from dlnet.scaling import Scaler  # noqa: E402

SHAPES = {
    "student 4/16/16/16": net.student_config(4, 16, 16, 16, dropout=0.0),
    "paper-size student 4/256/256/128": net.student_config(4, 256, 256, 128, dropout=0.0),
    "teacher 32/16/32/16 full, 3 steps": net.teacher_config(enc_hidden=32, width=16,
                                                            dec_hidden=32, dec_mid=16, steps=3,
                                                            dt=1 / 3, dropout=0.0),
}

# Times each part of dlnet_run separately (dlnet_run_start, each layer, dlnet_run_finish), and
# prints its outputs so that the run is checked against the reference like main.c's.
PROFILE_MAIN = r"""
#include <stdint.h>
#include <stdio.h>
#include "dlnet_core.h"
#include "dlnet_model.h"
#include "dlnet_windows.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

#if DLNET_M4_SIGNALS > 0
#define SIGNALS (dlnet_signals[0])
#else
#define SIGNALS NULL
#endif

static const char *const names[] = {NAMES};
static dlnet_model_t m;
static dlnet_run_state_t st;
static int16_t scratch[(DLNET_SCRATCH_BYTES + 1) / 2], out[DLNET_OUTPUT_LEN];
static uint32_t t0;

static void tic(void) { t0 = SYST_CVR; }
static void toc(const char *name)
{
    const uint32_t t1 = SYST_CVR;
    printf("op %s ticks=%lu\n", name, (unsigned long)((t0 - t1) & 0xFFFFFFu));
}

int main(void)
{
    int32_t i, j;
    SYST_RVR = 0xFFFFFFu;
    SYST_CVR = 0;
    SYST_CSR = 5u;
    tic(); toc("overhead");
    if (dlnet_model_init(&m, dlnet_model_data, DLNET_MODEL_BYTES) != DLNET_OK) return 3;
    tic();
    if (dlnet_run_start(&m, dlnet_windows[0], SIGNALS, out, scratch, sizeof scratch, &st)
        != DLNET_OK)
        return 4;
    toc("start");
    for (i = 0; i < m.n_layers; i++) {
        tic(); dlnet_run_layer(&m, i, &st); toc(names[i]);
    }
    tic(); dlnet_run_finish(&m, &st); toc("finish");
    printf("y=");
    for (j = 0; j < DLNET_OUTPUT_LEN; j++)
        printf(j + 1 < DLNET_OUTPUT_LEN ? "%d," : "%d\n", out[j]);
    return 0;
}
""".replace("NAMES", ", ".join(f'"{layer.name}"' for layer in SEQUENCE))


def shape_macs(dims, coupling):
    """dlnet.cost.macs of the LiquidNet these dims describe."""
    cfg = net.NetConfig(dims["input_len"], dims["output_len"], dims["enc_hidden"], dims["width"],
                        dims["dec_hidden"], dims["dec_mid"], coupling=coupling,
                        rank=max(dims["rank"], 1), steps=dims["steps"], dropout=0.0,
                        signals=dims["signals"])
    return macs(net.LiquidNet(cfg))


def random_header(cfg, path, seed=0):
    """A random-weight model of shape `cfg` (and its signals), quantized, written as a
    dlnet_model.h."""
    rng = np.random.default_rng(seed)
    model = randomized(net.LiquidNet(cfg), rng)
    scaler = Scaler("anchored", span=0.1, anchor_len=10,
                    signals=random_signal_scalings(rng, cfg.signals))
    qm = qmodel.quantize(model, scaler, calibration_inputs(rng, 256, cfg.input_len, scaler))
    Path(path).write_text(header.text(qm, source="benchmarks/core_speed.py"))


def selection(qm, n, seed=1):
    """n random-walk windows for qm, with random raw signals if it reads any."""
    rng = np.random.default_rng(seed)
    q = soh_to_q_in(soh_windows(rng, n, qm.input_len))
    s = signal_values(rng, n, qm.signals) if qm.signals is not None else None
    return held_out_windows.Selection(q=q, y=np.zeros((n, qm.output_len)),
                                      split=np.array(["bench"] * n), cell=np.array(["-"] * n),
                                      start=np.zeros(n, int), s=s)


def core_text_bytes(t, work, optimize, defines=()):
    """Code + read-only data of the core's objects compiled as the M4 image compiles them."""
    objects = []
    for src in core_files.sources(m4build.CORE_DIR):
        obj = Path(work) / f"{src.stem}_{optimize}{''.join(defines)}.o"
        subprocess.run([t["gcc"], *m4build.flags(optimize), *(f"-D{d}" for d in defines), "-c",
                        str(src), "-o", str(obj)], check=True)
        objects.append(obj)
    return m4.elfsize.objects(t["size"], objects)["text"]


def profile(t, hdr, sel, work, optimize, defines=()):
    """{op: SysTick ticks} of one inference, and whether its outputs match the reference."""
    work = Path(work)
    m4_dir = work / "m4"
    m4_dir.mkdir(parents=True)
    for name in ("startup.c", "nrf52840.ld"):
        shutil.copyfile(m4build.M4_DIR / name, m4_dir / name)
    (m4_dir / "main.c").write_text(PROFILE_MAIN)
    b = m4build.build(t["gcc"], work / "build", hdr,
                      held_out_windows.m4_header(sel.q[:1], sel.signals[:1]), optimize,
                      m4_dir=m4_dir, defines=defines)
    status, text = qemu.run(t["qemu"], b.elf, 600)
    if status != 0:
        raise RuntimeError(f"profile run failed ({status}):\n{text}")
    ticks = {}
    for line in text.splitlines():
        if line.startswith("op "):
            name, value = line[3:].split(" ticks=")
            ticks[name] = int(value)
    y = [int(v) for v in text.split("y=")[1].split(",")]
    s = sel.signals[:1] if sel.signals.shape[1] else None
    exact = np.array_equal(np.array(y), reference.run(header.read(hdr), sel.q[:1], s)[0])
    # SysTick ticks, less the cost of reading the counter; under -icount shift=0 they are
    # proportional to instructions (main() converts them with main.c's calibration)
    overhead = ticks.pop("overhead")
    return {k: v - overhead for k, v in ticks.items()}, exact


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--optimize", nargs="+", default=["Os", "O2"], choices=list(m4build.OPTIMIZE))
    ap.add_argument("--windows", type=int, default=4)
    ap.add_argument("--trace-windows", type=int, default=1,
                    help="windows costed in cycles from QEMU's trace (0: none)")
    ap.add_argument("--profile", action="store_true", help="instructions of every op")
    ap.add_argument("--header", nargs="*", default=[], metavar="NAME=PATH",
                    help="trained models (dlnet_model.h) to measure as well")
    ap.add_argument("--only", default="", help="measure only models whose name contains this")
    ap.add_argument("--portable", action="store_true",
                    help="also measure the portable C path (-DDLNET_PORTABLE)")
    ap.add_argument("--signals", type=int, default=0, metavar="K",
                    help="give the built-in models K signals beside the window (0..8)")
    args = ap.parse_args()
    t = tools.m4_tools()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        models = {}
        for i, (name, cfg) in enumerate(SHAPES.items()):
            if args.only not in name:
                continue
            if args.signals:
                cfg = replace(cfg, signals=args.signals)
                name = f"{name} + {args.signals} signals"
            models[name] = tmp / f"model{i}.h"
            random_header(cfg, models[name], seed=i)
        for item in args.header:
            name, path = item.split("=", 1)
            if args.only in name:
                models[name] = Path(path)
        paths = {"dsp": ()} if not args.portable else {"dsp": (), "portable": ("DLNET_PORTABLE",)}
        for path, defines in paths.items():
            print(f"core code bytes ({path}): " + ", ".join(
                f"-{o} {core_text_bytes(t, tmp, o, defines)}" for o in args.optimize))
        for k, (name, hdr) in enumerate(models.items()):
            qm = header.read(hdr)
            d = qm.dims
            n_macs = shape_macs(d, qm.cell.coupling)
            sel = selection(qm, args.windows)
            for (path, defines), o in ((p, o) for p in paths.items() for o in args.optimize):
                r = m4.verify(hdr, sel, tmp / f"run{k}{o}{path}", optimize=o, log=lambda _: None,
                              defines=defines, trace_windows=args.trace_windows)
                ins = r["instructions_per_inference"]["mean"]
                print(f"{name:34s} {path:8s} -{o}: {ins:8.0f} instructions/inference, "
                      f"{n_macs:5d} MACs, {ins / n_macs:5.2f} per MAC, init "
                      f"{r['breakdown']['init_instructions']}, model "
                      f"{r['breakdown']['model_data_bytes']} B, bit-exact {r['all_bit_exact']}")
                if "cycles_per_inference" in r:
                    cyc, lat = r["cycles_per_inference"]["max"], r["latency_ms"]
                    print(f"    {cyc:8d} cycles/inference, {cyc / n_macs:5.2f} per MAC, "
                          f"{r['cycles_per_instruction']:.2f} per instruction, "
                          f"{lat['low']:.3f}-{lat['high']:.3f} ms at 64 MHz (0-1 flash wait "
                          f"state per load)")
                if args.profile:
                    ticks, exact = profile(t, hdr, sel, tmp / f"prof{k}{o}{path}", o, defines)
                    per_tick = r["breakdown"]["instructions_per_systick"]
                    ops = {op: round(v * per_tick) for op, v in ticks.items()}
                    print(f"    per op (one window, sum {sum(ops.values())}, bit-exact {exact}): "
                          + ", ".join(f"{op} {v}" for op, v in ops.items()))

if __name__ == "__main__":
    main()
