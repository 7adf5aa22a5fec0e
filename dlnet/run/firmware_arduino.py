"""Rule firmware_arduino: the sketch for the Nano 33 BLE Sense with the deployed model and one
real held-out window for its self-test, compiled by arduino-cli, with the flash and RAM it
reports."""

import os
import tempfile
from pathlib import Path

from dlnet.firmware import arduino, held_out_windows, m4, tools
from dlnet.io import read_json, write_json
from dlnet.logs import Log
from dlnet.quant import header, reference

def run(input, output, params, log, threads=1):
    cli = arduino.require_cli()          # before anything is written, the log included
    log = Log(log)
    s = params.arduino
    input_len, _ = m4.model_dims(input.header)
    sample = held_out_windows.pick(input.dataset, 1, input_len, m4.model_signals(input.header))
    qm = header.read(input.header)
    expected = reference.run(qm, sample.q, sample.signals)[0]
    selected = read_json(input.selected)
    log(f"model {selected.get('name')} ({input.header}); self-test window: {sample.source(0)}")
    out = Path(output.sketch)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".nano33ble.") as stage_dir, \
            tempfile.TemporaryDirectory(prefix="dlnet_arduino_build_") as build:
        sample_h = held_out_windows.sample_header(sample.q[0], expected, sample.source(0),
                                                  signals=sample.signals[0])
        sketch = arduino.stage(Path(stage_dir) / arduino.SKETCH, input.header, sample_h,
                               sketch_dir=Path(input.sketch).parent,
                               core_dir=Path(input.core[0]).parent)
        log(f"staged {sketch}; compiling for {arduino.FQBN}")
        result = arduino.compile_sketch(cli, sketch, build, s["timeout"])
        size = arduino.sizes(result)
        os.replace(sketch, out)
    model_bytes = len(header.read_bytes(input.header))
    report = {
        "fqbn": arduino.FQBN, "platform": arduino.platform(result),
        "arduino_cli": tools.version(cli, "version"),
        "command": f"arduino-cli compile --fqbn {arduino.FQBN} --export-binaries {out}",
        **size,
        "ram_left_bytes": size["ram_max_bytes"] - size["ram_bytes"] if size["ram_max_bytes"] else None,
        "model": selected.get("name"), "model_bytes": model_bytes,
        "self_test_window": sample.source(0), "sketch": str(out),
        "notes": {"flash_bytes": "the whole sketch: mbed OS, the Arduino core, USB serial, the "
                                 "DLNet core and the model data",
                  "ram_bytes": "static RAM (data + bss); the stack and heap use what is left",
                  "ram_left_bytes": "RAM left for the stack and heap, as arduino-cli reports it"},
    }
    log(f"flash {size['flash_bytes']} of {size['flash_max_bytes']} bytes, static RAM "
        f"{size['ram_bytes']} of {size['ram_max_bytes']} bytes ({size['parsed_from']})")
    write_json(output.size, report)
