"""config.yaml as the workflow sees it, for code that runs outside Snakemake (benchmarks, tests,
notebooks): validated against config.schema.yaml with the schema's defaults filled in, as the
Snakefile's `validate` does. The schema is the one place that holds a default."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def validated(config, schema=ROOT / "config.schema.yaml"):
    """`config` (a dict, changed in place and returned) checked, with the defaults filled in."""
    from snakemake.utils import validate

    validate(config, str(schema))
    return config


def load(path=ROOT / "config.yaml", schema=ROOT / "config.schema.yaml"):
    return validated(yaml.safe_load(Path(path).read_text()), schema)
