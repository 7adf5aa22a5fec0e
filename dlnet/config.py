"""config.yaml as the workflow sees it, for code that runs outside Snakemake (benchmarks, tests,
notebooks): validated against config.schema.yaml with the schema's defaults filled in, as the
Snakefile's `validate` does. The schema is the one place that holds a default."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# config.yaml's `students` section holds two kinds of setting: what shapes every student (beside
# its family's sizes) and what its distillation trains with. They reach the rules as separate
# params, so that each rule reruns only for the kind it reads.
STUDENT_SHAPE = ("rank", "dt", "dropout")
DISTILLATION = ("lambda_start", "lambda_end", "divergence")


# Keys an older config.yaml holds, and what took their place
RENAMED = {
    key: ("cleaning.max_capacity_ah and max_jump_ah became max_soh and max_jump_soh, fractions "
          "of the dataset's soh_reference_ah (1.2 Ah and 0.05 Ah of a 1.1 Ah cell are 1.09 and "
          "0.045); the shipped config.yaml has them")
    for key in ("max_capacity_ah", "max_jump_ah")}


def check(config, schema=ROOT / "config.schema.yaml"):
    """InputError naming the first setting config.schema.yaml refuses, in one line: the key's
    path, what is wrong, and for a key or a protocol name that does not exist, the closest one
    that does. Snakemake's `validate` reports the same with the whole schema beside it."""
    import difflib

    import jsonschema

    from dlnet.errors import InputError, config_source

    document = yaml.safe_load(Path(schema).read_text())
    validator = jsonschema.validators.validator_for(document)(document)
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is None:
        return
    path = [str(k) for k in error.absolute_path]
    key, problem = ".".join(path) or "(top level)", error.message
    fix = f"correct it: config.schema.yaml documents {key}"
    unknown = []
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        unknown = [k for k in error.instance if k not in error.schema.get("properties", {})]
        known = list(error.schema.get("properties", {}))
    elif error.validator == "required" and len(path) == 2 and path[0] == "protocols":
        shipped = yaml.safe_load((ROOT / "config.yaml").read_text())["protocols"]
        if path[1] not in shipped:                  # a new protocol, or a misspelt one
            unknown = [path[1]]
            known = list(shipped)
            problem = (f"protocol {path[1]!r} is not complete ({error.message}): a protocol "
                       "that config.yaml does not define must set every key")
    alternatives = [a.get("required") for a in error.validator_value or ()] \
        if error.validator == "anyOf" else []
    if alternatives and all(alternatives) and isinstance(error.instance, dict):
        # the split's validation cells: listed (val_cells), or drawn (val_fraction and seed)
        missing = [" and ".join(k for k in a if k not in error.instance) for a in alternatives]
        problem = f"{key} needs {', or '.join(' and '.join(a) for a in alternatives)}"
        fix = f"add {', or '.join(missing)} (config.schema.yaml documents each)"
    if (error.validator == "type" and error.validator_value == "string"
            and isinstance(error.instance, (int, float)) and "_cells" in key):
        # YAML reads test_cells: [01, 2.10] as the numbers 1 and 2.1
        fix = (f"write the id in quotes, as the data file spells it (this one reads as the "
               f"number {error.instance}): YAML reads an unquoted 01 or 2.10 as a number")
    renamed = [k for k in unknown if k in RENAMED]
    if renamed:
        fix = RENAMED[renamed[0]]
        unknown = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=1)
        if close:
            fix = f"did you mean {close[0]!r}? Rename {name!r}, or see config.schema.yaml"
            break
    raise InputError(config_source(), problem, fix, column=key)


def in_shipped_order(config, shipped=None):
    """`config` (changed in place) with every mapping's keys in the shipped config.yaml's order,
    then any other keys by name. Snakemake compares a rule's params with their key order: a
    --configfile that repeats a value, or a default the schema filled in, moved a key and
    reran the rule."""
    if shipped is None:
        shipped = yaml.safe_load((ROOT / "config.yaml").read_text())

    def ordered(node, model):
        if not isinstance(node, dict):
            return node
        model = model if isinstance(model, dict) else {}
        extra = sorted((k for k in node if k not in model), key=str)
        keys = [k for k in model if k in node] + extra
        return {k: ordered(node[k], model.get(k)) for k in keys}

    items = ordered(config, shipped)
    config.clear()
    config.update(items)
    return config


def validated(config, schema=ROOT / "config.schema.yaml"):
    """`config` (a dict, changed in place and returned) checked, with the defaults filled in."""
    from snakemake.utils import validate

    check(config, schema)
    validate(config, str(schema))
    return config


def load(path=ROOT / "config.yaml", schema=ROOT / "config.schema.yaml"):
    return validated(yaml.safe_load(Path(path).read_text()), schema)


def student_settings(students):
    """(shape, distillation) settings of config.yaml's `students` section."""
    return ({k: students[k] for k in STUDENT_SHAPE}, {k: students[k] for k in DISTILLATION})
