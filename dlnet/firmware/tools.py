"""The external programs the firmware rules run, and what to do when one is missing."""

import shutil
import subprocess

DEBIAN_M4 = ("install the Debian packages: apt-get install -y --no-install-recommends "
             "gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm (./install.sh does)")
M4 = {"gcc": "arm-none-eabi-gcc", "size": "arm-none-eabi-size", "nm": "arm-none-eabi-nm",
      "objdump": "arm-none-eabi-objdump", "qemu": "qemu-system-arm"}


class ToolMissing(RuntimeError):
    """A program a rule needs is not on PATH; the message says how to install it."""


def require(name, install):
    """Full path of `name`, or ToolMissing naming it and saying how to install it."""
    path = shutil.which(name)
    if path is None:
        raise ToolMissing(f"{name} is not on PATH: {install}")
    return path


def m4_tools():
    """{role: path} of the Cortex-M4 toolchain and QEMU (Debian packages)."""
    return {role: require(name, DEBIAN_M4) for role, name in M4.items()}


def version(path, flag="--version"):
    """First line of `path --version`: what the report records."""
    proc = subprocess.run([path, flag], capture_output=True, text=True)
    lines = (proc.stdout or proc.stderr).strip().splitlines()
    return lines[0] if lines else ""
