"""Worst-case stack of a function from GCC's call-graph files (-fcallgraph-info=su, *.ci).

Each defined function is a node labelled with its own frame ("64 bytes (static)"); each call is
an edge. The worst case of f is its frame plus the worst case of its deepest callee. Calls out
of the analysed files (memcpy, memset) have no frame here: they are counted as 0 bytes and
listed, so the bound is as good as those library leaves are small. A tail call counts as nested
although its caller's frame is gone by then, which can only raise the bound. The painted-stack
measurement (firmware/m4/main.c) is what the image really used.
"""

import re
from pathlib import Path

_NODE = re.compile(r'node: \{ title: "([^"]+)" label: "[^"]*\\n(\d+) bytes \(([a-z,]+)\)"')
_EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')


class StackError(ValueError):
    """Recursion or a frame of unknown size: no static bound exists."""


def read(files):
    """({function: (frame bytes, qualifier)}, {function: set of callees}) over all files."""
    frames, calls = {}, {}
    for f in files:
        text = Path(f).read_text()
        for title, size, kind in _NODE.findall(text):
            frames[title] = (int(size), kind)
        for src, dst in _EDGE.findall(text):
            calls.setdefault(src, set()).add(dst)
    return frames, calls


def worst_case(files, function):
    """{'bytes': bound, 'path': deepest call chain, 'external': callees counted as 0}."""
    frames, calls = read(files)
    external, memo = set(), {}

    def depth(f, active):
        if f in active:
            raise StackError(f"{f} is recursive: its stack has no static bound")
        if f in memo:
            return memo[f]
        if f not in frames:
            external.add(f)
            return 0, [f]
        size, kind = frames[f]
        if kind == "dynamic":
            raise StackError(f"{f} allocates a stack frame of run-time size")
        best = (0, [])
        for callee in sorted(calls.get(f, ())):
            best = max(best, depth(callee, active | {f}), key=lambda d: d[0])
        memo[f] = (size + best[0], [f] + best[1])
        return memo[f]

    if function not in frames:
        raise StackError(f"{function} is not defined in {', '.join(map(str, files))}")
    total, path = depth(function, frozenset())
    return {"bytes": total, "path": [p.rsplit(":", 1)[-1] for p in path],
            "external": sorted(external)}
