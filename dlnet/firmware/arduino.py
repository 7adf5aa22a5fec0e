"""The Arduino sketch for the Nano 33 BLE Sense: staged with the core and its generated headers,
compiled by arduino-cli, and its size report read.

arduino-cli is neither a Debian nor a PyPI package and downloads its board core on first use, so
this runs only where it is installed with the arduino:mbed_nano core. Without it, require_cli
fails before anything is written, and says how to install both.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

from dlnet.firmware import core_files, tools

FQBN = "arduino:mbed_nano:nano33ble"
PLATFORM = "arduino:mbed_nano"
SKETCH = "nano33ble"
ROOT = Path(__file__).resolve().parents[2]
SKETCH_DIR = ROOT / "firmware" / SKETCH
CORE_DIR = core_files.DIR
INSTALL = ("install arduino-cli (see https://arduino.github.io/arduino-cli/latest/installation/; "
           "it is a single binary), then the board core: "
           f"`arduino-cli core update-index && arduino-cli core install {PLATFORM}`. "
           "To skip the Arduino build, set firmware: {arduino: false} in config.yaml; the "
           "Cortex-M4 build checked in QEMU (rule firmware_m4) needs neither")
_SKETCH_USES = re.compile(r"Sketch uses (\d+) bytes.*?Maximum is (\d+) bytes")
_GLOBALS_USE = re.compile(r"Global variables use (\d+) bytes.*?Maximum is (\d+) bytes")


class CompileError(RuntimeError):
    """arduino-cli failed; the message holds its error and, if the core is missing, the fix."""


def require_cli():
    """Path of arduino-cli, or tools.ToolMissing with how to install it and the core."""
    return tools.require("arduino-cli", INSTALL)


def stage(dest, model_header, sample_header, sketch_dir=SKETCH_DIR, core_dir=CORE_DIR):
    """A complete sketch folder `dest` (named like its .ino): the sketch, the core, the model
    header and `sample_header` (text of dlnet_sample.h). arduino-cli compiles every .c file
    in a sketch folder, so the core needs no library."""
    dest = Path(dest)
    if dest.name != SKETCH:
        raise ValueError(f"a sketch folder must be named like its .ino: {SKETCH}, not {dest.name}")
    dest.mkdir(parents=True)
    shutil.copyfile(Path(sketch_dir) / f"{SKETCH}.ino", dest / f"{SKETCH}.ino")
    for name in core_files.SOURCES + core_files.HEADERS:
        shutil.copyfile(Path(core_dir) / name, dest / name)
    shutil.copyfile(model_header, dest / "dlnet_model.h")
    (dest / "dlnet_sample.h").write_text(sample_header)
    return dest


def compile_sketch(cli, sketch, build_path, timeout):
    """Run arduino-cli compile on `sketch`, binaries exported to sketch/build/; return its
    parsed JSON output (the size report is in builder_result)."""
    cmd = [cli, "compile", "--fqbn", FQBN, "--format", "json", "--build-path", str(build_path),
           "--export-binaries", str(sketch)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise CompileError(f"{' '.join(cmd)} did not finish within {timeout} s") from None
    report = _json(proc.stdout)
    if proc.returncode != 0 or (report is not None and report.get("success") is False):
        detail = "\n".join(filter(None, [proc.stderr.strip(), (report or {}).get("compiler_err", ""),
                                         (report or {}).get("error", ""), proc.stdout.strip()[-2000:]]))
        hint = (f" The board core is missing: `arduino-cli core update-index && arduino-cli core "
                f"install {PLATFORM}`." if "not installed" in detail or "not found" in detail else "")
        raise CompileError(f"{' '.join(cmd)} failed (exit {proc.returncode}).{hint}\n{detail}")
    return {"report": report, "text": proc.stdout}


def _json(stdout):
    """arduino-cli's JSON report, which may follow progress lines; None if there is none."""
    at = stdout.find("{")
    if at < 0:
        return None
    try:
        return json.loads(stdout[at:])
    except ValueError:
        return None


def sizes(result):
    """Flash and RAM bytes from a compile: builder_result.executable_sections_size (text = flash,
    data = static RAM), else the "Sketch uses ... Global variables use ..." lines."""
    report = result["report"] or {}
    sections = (report.get("builder_result") or {}).get("executable_sections_size") or []
    by_name = {s.get("name"): s for s in sections}
    if "text" in by_name and "data" in by_name:
        return {"flash_bytes": int(by_name["text"]["size"]),
                "flash_max_bytes": int(by_name["text"].get("max_size") or 0) or None,
                "ram_bytes": int(by_name["data"]["size"]),
                "ram_max_bytes": int(by_name["data"].get("max_size") or 0) or None,
                "parsed_from": "builder_result.executable_sections_size"}
    text = result["text"] + "\n" + report.get("compiler_out", "")
    flash, ram = _SKETCH_USES.search(text), _GLOBALS_USE.search(text)
    if not (flash and ram):
        raise CompileError(f"arduino-cli printed no size report:\n{text.strip()[-2000:]}")
    return {"flash_bytes": int(flash.group(1)), "flash_max_bytes": int(flash.group(2)),
            "ram_bytes": int(ram.group(1)), "ram_max_bytes": int(ram.group(2)),
            "parsed_from": "arduino-cli's 'Sketch uses' and 'Global variables use' lines"}


def platform(result):
    """The board platform arduino-cli built with ({id, version}), when it says."""
    bp = ((result["report"] or {}).get("builder_result") or {}).get("board_platform") or {}
    return {k: bp[k] for k in ("id", "version") if k in bp} or None
