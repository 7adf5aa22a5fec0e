"""Every package a rule's script imports (directly or through dlnet) is listed in its conda env."""

import ast
import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PIP_NAMES = {"yaml": "pyyaml", "torch_pruning": "torch-pruning", "litert_torch": "litert-torch",
             "tflite_micro": "tflite-micro", "ai_edge_litert": "ai-edge-litert",
             "snakemake": "snakemake", "sklearn": "scikit-learn"}
RULE = re.compile(r"^(?:rule|checkpoint) (\w+):\n((?:[ \t]+.*\n|\n)*)", re.M)


def rules():
    found = []
    for smk in sorted((ROOT / "rules").glob("*.smk")):
        for name, body in RULE.findall(smk.read_text()):
            script = re.search(r"script:\s*\"\.\./(scripts/[\w.]+)\"", body)
            conda = re.search(r"conda:\s*\"\.\./(envs/[\w.]+)\"", body)
            found.append((name, script and script.group(1), conda and conda.group(1)))
    return found


def third_party_imports(path, seen=None):
    """Top-level third-party modules imported by a file, following imports of dlnet modules."""
    seen = set() if seen is None else seen
    if path in seen:
        return set()
    seen.add(path)
    names = set()
    for node in ast.walk(ast.parse(Path(path).read_text())):
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for module in modules:
            top = module.split(".")[0]
            if top == "dlnet":
                source = _source_of(module)
                if source:
                    names |= third_party_imports(source, seen)
            elif top not in sys.stdlib_module_names:
                names.add(top)
    return names


def _source_of(module):
    """The file of a dlnet module (None for a name inside a module), found without importing."""
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def env_packages(env_file):
    deps = yaml.safe_load((ROOT / env_file).read_text())["dependencies"]
    names = set()
    for d in deps:
        for entry in (d["pip"] if isinstance(d, dict) else [d]):
            names.add(re.split(r"[<>=!~ \[]", entry.strip())[0].lower().replace("_", "-"))
    return names


def test_every_rule_has_a_log_and_a_conda_env():
    bodies = {name: body for smk in (ROOT / "rules").glob("*.smk") for name, body in RULE.findall(smk.read_text())}
    for name, _, conda in rules():
        assert "log:" in bodies[name], f"rule {name} has no log: directive"
        assert conda, f"rule {name} has no conda: directive"
        assert (ROOT / conda).exists(), f"rule {name}: {conda} does not exist"


@pytest.mark.parametrize("name,script,conda", [r for r in rules() if r[1]])
def test_env_lists_what_the_rule_imports(name, script, conda):
    wanted = {PIP_NAMES.get(m, m).lower().replace("_", "-") for m in third_party_imports(ROOT / script)}
    listed = env_packages(conda)
    missing = sorted(wanted - listed)
    assert not missing, f"rule {name} ({script}) imports {missing}, not listed in {conda}"
