"""Cortex-M4 cycles of one inference, from the instructions QEMU executed.

QEMU counts instructions, not cycles. Here every instruction dlnet_run executed (QEMU's trace,
qemu.read_trace, with the registers before each) is costed with the Cortex-M4 timings of its
Technical Reference Manual (ARM DDI 0439B, table 3-1, and 3.3.2 "Load/store timings"):

  data processing, MUL/MLA, the 32x32->64 multiplies (SMULL, SMLAL) and the DSP MACs
  (SMLAD, SMLABB, ...): 1. The M4 multiplies and accumulates in one cycle.
  SDIV, UDIV: 2..12 by the operands; DIVIDE = 12, the worst case (the core divides nowhere in
  dlnet_run; newlib's printf does).
  single load (LDR, LDRB, LDRSH, LDREX, a literal LDR [pc]): 2; 1 right behind a single load
  (their address and data phases overlap), unless its address needs what that load loaded.
  Not behind a store: "nothing can be pipelined after the store".
  single store (STR, STRB, STRH): 1 (the write buffer takes it).
  LDRD, STRD: 1 + 2; LDM, STM, PUSH, POP: 1 + N for N registers; none of them pipelines with
  its neighbours.
  any load or store whose address uses a register the instruction before computed (data
  processing, multiply): 1 more. The address generator has no forwarding path from the ALU.
  branches (B, BL, BX, BLX, CBZ, CBNZ): 1 not taken, 1 + P taken; TBB, TBH: 2 + P. P, the
  pipeline refill, is 1..3 cycles by the target's alignment and width and whether the core
  speculated it early; P = 2 here, the middle. Whether a branch was taken is read from the
  trace: the next executed instruction is not the one after it.
  a write to pc by POP, LDM, LDR or MOV/ADD: its own cost + P.
  an instruction of an IT block whose condition fails: 1, and it reads no memory (the flags
  are in the trace). IT itself: 1 (the M4 may fold it into the instruction before: 0).

Flash wait states. The nRF52840 at 64 MHz may stall a read from flash; the figures here bracket
it: none, or one extra cycle per word loaded from flash (addresses below FLASH_END: the model's
weights, the test image's input windows, literal pools, the tables of TBB/TBH). Each load's
address is computed from the registers QEMU logged before it. Instruction fetches are taken to
have no wait states (the nRF52840's instruction cache, which the Arduino core enables, holds
loops this small).

Left out: unaligned accesses (the core reads aligned words), write-buffer stalls, literal loads
contending with instruction fetch ("might add a cycle"), interrupts. An instruction this module
has no timing for stops the count (UnknownInstruction) rather than being guessed at.
"""

import re
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise

FLASH_END = 0x2000_0000      # nRF52840: flash below, RAM from here
P = 2                        # pipeline refill after a taken branch (TRM: 1..3 cycles)
DIVIDE = 12                  # SDIV/UDIV (TRM: 2..12 cycles, by the operands): the worst case

CONDITIONS = {"eq", "ne", "cs", "hs", "cc", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt",
              "gt", "le", "al"}
REGISTERS = {**{f"r{i}": i for i in range(16)}, "sb": 9, "sl": 10, "fp": 11, "ip": 12, "sp": 13,
             "lr": 14, "pc": 15}

# one cycle each: ARMv7-M data processing, bit fields, extends, saturation and SIMD arithmetic
_SIMD = {p + op for p in ("s", "q", "sh", "u", "uq", "uh")
         for op in ("add8", "add16", "sub8", "sub16", "asx", "sax")}
DATA = {"adc", "add", "addw", "adr", "and", "asr", "bfc", "bfi", "bic", "clz", "cmn", "cmp", "eor",
        "lsl", "lsr", "mov", "movt", "movw", "mvn", "neg", "orn", "orr", "pkhbt", "pkhtb", "qadd",
        "qdadd", "qdsub", "qsub", "rbit", "rev", "rev16", "revsh", "ror", "rrx", "rsb", "sbc",
        "sbfx", "sel", "ssat", "ssat16", "sub", "subw", "sxtab", "sxtab16", "sxtah", "sxtb",
        "sxtb16", "sxth", "teq", "tst", "ubfx", "usad8", "usada8", "usat", "usat16", "uxtab",
        "uxtab16", "uxtah", "uxtb", "uxtb16", "uxth", "nop", "pld", "pli"} | _SIMD
MULTIPLY = {"mul", "mla", "mls", "smull", "umull", "smlal", "umlal", "umaal", "smmul", "smmulr",
            "smmla", "smmlar", "smmls", "smmlsr", "smlad", "smladx", "smlsd", "smlsdx", "smuad",
            "smuadx", "smusd", "smusdx", "smlald", "smlaldx", "smlsld", "smlsldx", "smlawb",
            "smlawt", "smulwb", "smulwt",
            *(f"{op}{x}{y}" for op in ("smla", "smlal", "smul") for x in "bt" for y in "bt")}
DIVIDES = {"sdiv", "udiv"}
LOADS = {"ldr", "ldrb", "ldrh", "ldrsb", "ldrsh", "ldrex", "ldrexb", "ldrexh", "ldrt", "ldrbt",
         "ldrht", "ldrsbt", "ldrsht"}
STORES = {"str", "strb", "strh", "strex", "strexb", "strexh", "strt", "strbt", "strht"}
DOUBLES = {"ldrd", "strd"}
LOAD_MULTIPLE = {"ldm", "ldmia", "ldmfd", "ldmdb", "ldmea", "pop"}
STORE_MULTIPLE = {"stm", "stmia", "stmea", "stmdb", "stmfd", "push"}
BRANCHES = {"b", "bl", "blx", "bx", "cbz", "cbnz"}
TABLE_BRANCHES = {"tbb", "tbh"}
KNOWN = (DATA | MULTIPLY | DIVIDES | LOADS | STORES | DOUBLES | LOAD_MULTIPLE | STORE_MULTIPLE
         | BRANCHES | TABLE_BRANCHES)
_IT = re.compile(r"^it[te]{0,3}$")

# objdump -d: "    10f8:\t9c1b      \tldr\tr4, [sp, #108]\t@ 0x6c"
_LINE = re.compile(r"^\s*([0-9a-f]+):\t([0-9a-f]{4}(?: [0-9a-f]{4})?)\s*\t([a-z][\w.]*)"
                   r"(?:\t(.*))?$")
# a direct branch's target: "ed4 <dlnet_run_start>", "r3, 1122 <dlnet_run+0x30>"
_TARGET = re.compile(r"^(?:\w+, )?([0-9a-f]+) <")
# the memory operand: [rn], [rn, #imm], [rn, rm], [rn, rm, lsl #s], each optionally "!"
_MEM = re.compile(r"\[(\w+)(?:, (#-?\w+|\w+)(?:, lsl #(\d+))?)?\]")


class UnknownInstruction(ValueError):
    """dlnet_run executed an instruction this module has no Cortex-M4 timing for."""


@dataclass(frozen=True)
class Insn:
    """One instruction of the image, as objdump prints it."""
    addr: int
    size: int                # bytes: 2 or 4
    mnemonic: str            # as printed: 'ldrbne.w'
    op: str | None           # without width, condition or flag suffix: 'ldrb'; None if unknown
    cond: str | None         # condition suffix ('ne'), of a conditional branch or in an IT block
    args: str                # operands, comment dropped: 'r3, [r2, #4]'

    # what costing it needs from the operands, worked out once per instruction

    @cached_property
    def registers(self):
        """The register list of LDM/STM/PUSH/POP, ranges expanded."""
        inside = self.args[self.args.index("{") + 1:self.args.index("}")]
        regs = []
        for part in inside.split(","):
            lo, _, hi = part.strip().partition("-")
            regs += [f"r{i}" for i in range(REGISTERS[lo], REGISTERS[hi] + 1)] if hi else [lo]
        return regs

    @cached_property
    def first(self):
        """The first operand (a destination, or the register a branch reads)."""
        return self.args.split(",")[0].strip()

    @cached_property
    def memory(self):
        """A single load's or store's address: (base register, immediate offset, offset
        register, its left shift, post-indexed), registers as numbers."""
        m = _MEM.search(self.args)
        if m is None:
            raise UnknownInstruction(f"cannot read the address of '{self.mnemonic} {self.args}' "
                                     f"at 0x{self.addr:x}")
        rn, offset, shift = m.groups()
        post = offset is None or self.args[m.end():].startswith(",")   # [rn] or [rn], #imm
        imm = int(offset[1:], 0) if offset and offset.startswith("#") else 0
        index = REGISTERS[offset] if offset and not offset.startswith("#") else None
        return REGISTERS[rn], imm, index, int(shift or 0), post

    @cached_property
    def address_registers(self):
        """The registers (numbers) a load's or store's address is computed from."""
        if self.op in LOAD_MULTIPLE | STORE_MULTIPLE:
            return frozenset({13} if self.op in ("push", "pop")
                             else {REGISTERS[self.first.rstrip("!")]})
        base, _, index, _, _ = self.memory
        return frozenset({base} if index is None else {base, index})

    @cached_property
    def written(self):
        """The registers (numbers) a data-processing, multiply or divide instruction writes."""
        if self.op in ("cmp", "cmn", "tst", "teq", "nop", "pld", "pli"):
            return frozenset()
        regs = [r.strip() for r in self.args.split(",")]
        # the 64-bit multiplies write RdLo and RdHi
        two = self.op.startswith(("smlal", "umlal", "smull", "umull", "umaal", "smlsld"))
        return frozenset(REGISTERS[r] for r in regs[:2 if two else 1] if r in REGISTERS)

    @cached_property
    def writes_pc(self):
        """A branch, or a load or data-processing instruction into pc."""
        return (self.op in BRANCHES | TABLE_BRANCHES
                or (self.op in LOAD_MULTIPLE and "pc" in self.registers)
                or (self.op in LOADS | DATA and self.first == "pc"))


def decode(mnemonic):
    """(op, cond) of a mnemonic: 'addseq.w' -> ('add', 'eq'), 'bls.n' -> ('b', 'ls'),
    'lsls' -> ('lsl', None); (None, None) if no known op fits."""
    m = mnemonic.split(".")[0]
    if _IT.match(m):
        return "it", None
    cond = m[-2:] if m[-2:] in CONDITIONS else None
    candidates = [(m, None)]                      # as printed: 'ldrsh', 'teq', 'mls'
    if cond:
        candidates.append((m[:-2], cond))         # with a condition: 'movne', 'bls', 'ldrhi'
    if m.endswith("s"):
        candidates.append((m[:-1], None))         # setting the flags: 'adds', 'lsls'
    if cond and m[:-2].endswith("s"):
        candidates.append((m[:-3], cond))         # both: 'addseq'
    for op, c in candidates:
        if op in KNOWN:
            return op, c
    return None, None


def program(objdump_text):
    """{address: Insn} from `arm-none-eabi-objdump -d` of the image."""
    out = {}
    for line in objdump_text.splitlines():
        m = _LINE.match(line)
        if not m or m.group(3).startswith("."):
            continue
        addr, mnemonic = int(m.group(1), 16), m.group(3)
        op, cond = decode(mnemonic)
        args = (m.group(4) or "").split("@")[0].split(";")[0].strip()
        out[addr] = Insn(addr, len(m.group(2).replace(" ", "")) // 2, mnemonic, op, cond, args)
    return out


def call_sites(prog, target):
    """Addresses of the instructions that follow each `bl` to `target`: where it returns."""
    return sorted(i.addr + i.size for i in prog.values()
                  if i.op == "bl" and i.args.split()[0] == f"{target:x}")


def reachable(prog, symbols, entry):
    """[(start, end)] of the functions ({name: (start, end)}) that the one at `entry` runs,
    through its direct calls and jumps, transitively; None if one of them calls or jumps
    through a register (other than a return), as the code then does not say where to."""
    spans = sorted(v for v in symbols.values() if v[0] in prog)
    starts = [lo for lo, _ in spans]

    def span(addr):
        i = bisect_right(starts, addr) - 1
        return spans[i] if i >= 0 and spans[i][0] <= addr < spans[i][1] else None

    todo, seen = [span(entry)], set()
    while todo:
        lo, hi = todo.pop()
        if (lo, hi) in seen:
            continue
        seen.add((lo, hi))
        for insn in (prog[a] for a in range(lo, hi) if a in prog):
            target = _TARGET.match(insn.args) if insn.op in BRANCHES else None
            if target:
                where = span(int(target.group(1), 16))
                if where is None:
                    return None
                todo.append(where)
            elif insn.op in BRANCHES and insn.first != "lr" or (
                    insn.op in DATA | LOADS and insn.first == "pc"
                    and not insn.args.startswith("pc, [sp]")):
                return None
    return sorted(seen)


def needs_registers(insn):
    """Whether costing `insn` reads the registers before it: a load's address, a condition."""
    return insn.op is not None and (
        insn.op in LOADS | DOUBLES | LOAD_MULTIPLE | TABLE_BRANCHES
        or (insn.cond is not None and insn.op not in BRANCHES))


def passes(cond, xpsr):
    """Whether condition `cond` holds for the flags in xPSR."""
    n, z, c, v = ((xpsr >> bit) & 1 for bit in (31, 30, 29, 28))
    return {"eq": z, "ne": not z, "cs": c, "hs": c, "cc": not c, "lo": not c, "mi": n,
            "pl": not n, "vs": v, "vc": not v, "hi": c and not z, "ls": not c or z,
            "ge": n == v, "lt": n != v, "gt": not z and n == v, "le": z or n != v,
            "al": True}[cond]


def load_addresses(insn, regs):
    """Addresses of the words `insn` (a load, or TBB/TBH reading its table) reads, from the
    registers before it."""
    if insn.op in LOAD_MULTIPLE:
        n = len(insn.registers)
        base = regs[min(insn.address_registers)]
        if insn.op in ("ldmdb", "ldmea"):
            base -= 4 * n
        return [base + 4 * i for i in range(n)]
    rn, imm, index, shift, post = insn.memory
    if rn != 15:
        address = regs[rn]
    elif insn.op in TABLE_BRANCHES:
        address = insn.addr + 4              # the table right after TBB/TBH
    else:
        address = (insn.addr + 4) & ~3       # a literal: pc, word-aligned
    if not post:
        address += imm if index is None else regs[index] << shift
    address &= 0xFFFF_FFFF
    return [address, address + 4] if insn.op == "ldrd" else [address]


@dataclass(frozen=True)
class Step:
    """The cost of one executed instruction."""
    cycles: int
    flash_words: int = 0     # words it loaded from flash: one wait state each at the high end
    kind: str = "data"
    stall: int = 0           # the cycle its address waited for the previous instruction
    loaded: frozenset = frozenset()    # a single load: the register it loaded
    computed: frozenset = frozenset()  # data processing, multiply: the registers it wrote


def cost(insn, regs, prev, taken):
    """The Step of executing `insn` (an Insn) with `regs` ({0..15: value, 'xpsr': value}, the
    registers before it; None when it needs none), right after `prev` (the previous Step, or
    None) and with `taken`: whether the next executed instruction is not the one after it."""
    op = insn.op
    if op is None:
        raise UnknownInstruction(f"no Cortex-M4 timing for '{insn.mnemonic}' at 0x{insn.addr:x}: "
                                 f"add it to dlnet/firmware/m4cycles.py")
    if op == "it":
        return Step(1, kind="it")
    if insn.cond is not None and op not in BRANCHES and not passes(insn.cond, regs["xpsr"]):
        return Step(1, kind="condition failed")
    writes_pc = insn.writes_pc
    if taken and not writes_pc:
        raise ValueError(f"'{insn.mnemonic} {insn.args}' at 0x{insn.addr:x} is not a branch, yet "
                         f"the next instruction executed is not the one after it: an exception, "
                         f"or instructions missing from the trace")
    refill = P if taken else 0
    if op in BRANCHES:
        return Step(1 + refill, kind="branch taken" if taken else "branch not taken")
    if op in TABLE_BRANCHES:     # loads its offset from the table after it, in flash
        flash = sum(a < FLASH_END for a in load_addresses(insn, regs))
        return Step(2 + P, flash, kind="branch taken")
    if op in DATA:
        return Step(1 + refill, kind="branch taken" if writes_pc else "data",
                    computed=insn.written)
    if op in MULTIPLY:
        return Step(1, kind="multiply", computed=insn.written)
    if op in DIVIDES:
        return Step(DIVIDE, kind="divide", computed=insn.written)
    # a load or a store: its address waits a cycle for a register the instruction before
    # computed (no forwarding path to the address generator)
    address = insn.address_registers
    stall = int(prev is not None and bool(address & prev.computed))
    if op in STORES:
        return Step(1 + stall, kind="store", stall=stall)
    if op == "strd":
        return Step(3 + stall, kind="store double", stall=stall)
    if op in STORE_MULTIPLE:
        return Step(1 + len(insn.registers) + stall, kind="store multiple", stall=stall)
    flash = sum(a < FLASH_END for a in load_addresses(insn, regs))
    if op in LOADS:
        # pipelined behind a single load unless its address needs what that one loaded
        pipelined = (prev is not None and bool(prev.loaded) and not writes_pc
                     and not address & prev.loaded)
        return Step((1 if pipelined else 2) + stall + refill, flash,
                    "load pipelined" if pipelined else "load", stall,
                    loaded=frozenset() if writes_pc else frozenset({REGISTERS[insn.first]}))
    if op == "ldrd":
        return Step(3 + stall, flash, "load double", stall)
    return Step(1 + len(insn.registers) + stall + refill, flash, "load multiple", stall)


@dataclass
class Call:
    """One call of the measured function: what it executed and what that cost."""
    instructions: int = 0
    cycles: int = 0
    flash_words: int = 0
    taken_branches: int = 0  # and other writes to pc (POP {.., pc}, BX LR): each refills
    address_stalls: int = 0
    kinds: Counter = field(default_factory=Counter)        # kind -> instructions
    kind_cycles: Counter = field(default_factory=Counter)  # kind -> cycles

    def add(self, step, taken):
        self.instructions += 1
        self.cycles += step.cycles
        self.flash_words += step.flash_words
        self.taken_branches += taken
        self.address_stalls += step.stall
        self.kinds[step.kind] += 1
        self.kind_cycles[step.kind] += step.cycles


def calls(trace, prog, entry):
    """[Call] for each call of the function at `entry`, from its first instruction to the return
    into its caller (the address in lr on entry). `trace`: (pc, registers or None) in the
    order QEMU executed them (qemu.read_trace), registers where needs_registers asks for them
    and at `entry`."""
    out, inside, prev, ret = [], None, None, None
    for (pc, regs), (next_pc, _) in pairwise(trace):
        if inside is None:
            if pc != entry:
                continue
            inside, prev, ret = Call(), None, regs[14] & ~1
        insn = prog.get(pc)
        if insn is None:
            raise ValueError(f"the trace executed 0x{pc:x}, which the image's disassembly lacks")
        taken = next_pc != pc + insn.size
        prev = cost(insn, regs, prev, taken)
        inside.add(prev, taken)
        if next_pc == ret:
            out.append(inside)
            inside = None
    if inside is not None:
        raise ValueError(f"the trace ends inside a call of 0x{entry:x}")
    return out
