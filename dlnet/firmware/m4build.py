"""Compile and link the C core into a bare-metal Cortex-M4F image with the nRF52840 memory map.

Flags, and why:
  -mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=softfp
        the Nano 33 BLE's CPU with the Arduino mbed core's float ABI. Exactly one -mfloat-abi:
        two make GCC pick the ARM-mode multilib, whose newlib faults. The core has no floating
        point, so the ABI does not change its code; softfp only keeps newlib's the sketch's.
  -Os (default) or -O2
        -Os is what arduino-cli compiles the sketch and the core with (the mbed core's cflags),
        so the instruction count here is the one the board runs. -O2 inlines the
        requantization: fewer instructions, more code (the report records which was used).
  -ffunction-sections -fdata-sections -funsigned-char -fno-delete-null-pointer-checks
  -fomit-frame-pointer
        the rest of the mbed core's code-generation flags, for the same reason.
  -fstack-usage -fcallgraph-info=su
        each function's frame and the call graph: the static worst-case stack (stack.py).
  -nostartfiles --specs=nano.specs --specs=rdimon.specs -Wl,--gc-sections
        startup.c does crt0's work; newlib-nano with stdio through semihosting; unused
        sections dropped, as the Arduino link does.
No -g: the image holds no build paths, so the same sources give the same bytes.
`defines` adds -D flags to every compile, e.g. DLNET_PORTABLE to build the core's portable C
path instead of its Cortex-M4 DSP path (firmware/core/dlnet_core.h).
"""

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from dlnet.firmware import core_files

ROOT = Path(__file__).resolve().parents[2]
CORE_DIR = core_files.DIR
M4_DIR = ROOT / "firmware" / "m4"
CPU = ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=softfp"]
OPTIMIZE = {"Os": "-Os", "O2": "-O2"}
CODEGEN = ["-ffunction-sections", "-fdata-sections", "-funsigned-char",
           "-fno-delete-null-pointer-checks", "-fomit-frame-pointer"]
WARNINGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]
ANALYSIS = ["-fstack-usage", "-fcallgraph-info=su"]
LINK = ["-nostartfiles", "--specs=nano.specs", "--specs=rdimon.specs", "-Wl,--gc-sections"]


class BuildError(RuntimeError):
    """The compiler or linker failed; the message holds the command and its output."""


@dataclass
class Build:
    elf: Path
    core_objects: list           # the core's object files, for its share of the image
    work: Path
    flags: list
    commands: list = field(default_factory=list)

    def callgraph_files(self):
        return sorted(self.work.glob("*.ci"))


def flags(optimize):
    if optimize not in OPTIMIZE:
        raise ValueError(f"unknown optimization '{optimize}'; use one of {list(OPTIMIZE)}")
    return CPU + [OPTIMIZE[optimize]] + CODEGEN + WARNINGS


def _run(cmd, cwd):
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"Cortex-M4 build failed:\n{' '.join(map(str, cmd))}\n"
                         f"{proc.stderr.strip()}")


def build(gcc, work, model_header, windows_header, optimize="Os", core_dir=CORE_DIR, m4_dir=M4_DIR,
          defines=(), reuse=None):
    """app.elf in `work` from the core, firmware/m4 and the two generated headers
    (`model_header` a path, `windows_header` the text of dlnet_windows.h). `reuse`: the folder
    of an earlier build of the same sources, optimization and defines (its build.json says
    which), whose objects of the files that do not read the two headers (the core, startup.c)
    are copied with their stack and call-graph records instead of compiled again."""
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model_header, work / "dlnet_model.h")
    (work / "dlnet_windows.h").write_text(windows_header)
    core_dir, m4_dir = Path(core_dir).resolve(), Path(m4_dir).resolve()
    cflags = flags(optimize) + [f"-D{d}" for d in defines]
    core = core_files.sources(core_dir)
    sources = (*core, m4_dir / "startup.c", m4_dir / "main.c")
    what = {"flags": cflags, "sources": [str(src) for src in sources]}
    if reuse is not None and json.loads((Path(reuse) / "build.json").read_text()) != what:
        raise ValueError(f"cannot reuse the build in {reuse}: other flags or sources")
    (work / "build.json").write_text(json.dumps(what))
    result = Build(elf=work / "app.elf", core_objects=[work / f"{src.stem}.o" for src in core],
                   work=work, flags=cflags)
    objects = []
    for src in sources:
        obj = work / f"{src.stem}.o"
        objects.append(obj.name)
        if reuse is not None and src.name != "main.c":
            for suffix in (".o", ".su", ".ci"):
                shutil.copyfile(Path(reuse) / f"{src.stem}{suffix}", work / f"{src.stem}{suffix}")
            continue
        cmd = [gcc, *cflags, *ANALYSIS, f"-I{core_dir}", f"-I{work}", "-c", str(src), "-o", obj.name]
        _run(cmd, work)
        result.commands.append(" ".join(map(str, cmd)))
    cmd = [gcc, *cflags, "-T", str(m4_dir / "nrf52840.ld"), *LINK, "-Wl,-Map=app.map",
           *objects, "-o", result.elf.name]
    _run(cmd, work)
    result.commands.append(" ".join(map(str, cmd)))
    return result
