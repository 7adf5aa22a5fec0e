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


def validated(config, schema=ROOT / "config.schema.yaml"):
    """`config` (a dict, changed in place and returned) checked, with the defaults filled in."""
    from snakemake.utils import validate

    validate(config, str(schema))
    return config


def load(path=ROOT / "config.yaml", schema=ROOT / "config.schema.yaml"):
    return validated(yaml.safe_load(Path(path).read_text()), schema)


def student_settings(students):
    """(shape, distillation) settings of config.yaml's `students` section."""
    return ({k: students[k] for k in STUDENT_SHAPE}, {k: students[k] for k in DISTILLATION})
