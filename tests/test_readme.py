"""The README's promises that a file can check: the two Quickstart commands, CI and the graph."""

import re

from conftest import ROOT


def quickstart_commands():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_quickstart_is_exactly_two_commands_and_ci_runs_the_second():
    commands = quickstart_commands()
    assert len(commands) == 2
    assert "snakemake --cores all" in commands[0] and "pytest" in commands[1]
    ci = (ROOT / ".ci/run").read_text().splitlines()
    assert commands[1] in ci


def test_rule_graph_in_the_readme_shows_every_rule():
    svg = (ROOT / "docs/rulegraph.svg").read_text()
    rules = set()
    for smk in (ROOT / "rules").glob("*.smk"):
        rules |= set(re.findall(r"^(?:rule|checkpoint) (\w+):", smk.read_text(), re.M))
        rules |= set(re.findall(r"^use rule \w+ as (\w+) with:", smk.read_text(), re.M))
    # download_matr and firmware_arduino only run when config selects them, download_peer when
    # a user asks for a peer's file, teacher_seed when the teacher is a finalist
    optional = {"download_matr", "firmware_arduino", "download_peer", "teacher_seed"}
    missing = sorted(r for r in rules - optional if f">{r}<" not in svg)
    assert not missing, f"regenerate docs/rulegraph.svg (see README): missing {missing}"
