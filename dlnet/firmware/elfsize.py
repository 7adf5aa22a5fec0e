"""Flash and RAM of the Cortex-M4 image and of its parts, read from the ELF and the objects; its
symbols' addresses and its disassembly, for the cycle count (m4cycles)."""

import subprocess


def _out(cmd):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed: {proc.stderr.strip()}")
    return proc.stdout


def symbol_sizes(nm, elf, names):
    """{name: bytes} of the named symbols (nm -S); KeyError names any that is missing."""
    sizes = {}
    for line in _out([nm, "-S", "--defined-only", str(elf)]).splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[3] in names:
            sizes[parts[3]] = int(parts[1], 16)
    missing = set(names) - set(sizes)
    if missing:
        raise KeyError(f"{elf} has no symbol {', '.join(sorted(missing))}")
    return sizes


def symbols(nm, elf):
    """{name: (start, end)} of the image's symbols that have a size (functions, objects); a
    Thumb function's start without its mode bit."""
    out = {}
    for line in _out([nm, "-S", "--defined-only", str(elf)]).splitlines():
        parts = line.split()
        if len(parts) == 4:
            start = int(parts[0], 16) & ~1
            out[parts[3]] = (start, start + int(parts[1], 16))
    return out


def disassembly(objdump, elf):
    """`objdump -d` of the image: its code, instruction by instruction."""
    return _out([objdump, "-d", str(elf)])


def berkeley(size, path):
    """{'text', 'data', 'bss'} bytes of an object or image (text includes read-only data)."""
    fields = _out([size, "-B", str(path)]).splitlines()[1].split()
    return {"text": int(fields[0]), "data": int(fields[1]), "bss": int(fields[2])}


def objects(size, paths):
    """{'text', 'data', 'bss'} bytes of several object files together (the core's files)."""
    parts = [berkeley(size, p) for p in paths]
    return {k: sum(p[k] for p in parts) for k in ("text", "data", "bss")}


def image(size, elf):
    """Flash (text + initialized data) and static RAM (data + bss) of the whole image."""
    b = berkeley(size, elf)
    return {**b, "flash": b["text"] + b["data"], "static_ram": b["data"] + b["bss"]}
