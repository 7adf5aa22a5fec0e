# DLNet: real battery cycling data -> teacher LNN -> distilled, pruned students -> Pareto
# selection -> int8 model and firmware. See README.md; every knob is in config.yaml.

import os

from snakemake.utils import min_version, validate

from dlnet.config import check as check_config
from dlnet.config import in_shipped_order
from dlnet.errors import CONFIG_SOURCE, describe_config

min_version("9.0")


configfile: "config.yaml"


# an error about a setting names the files it came from; jobs inherit it (dlnet/errors.py)
os.environ[CONFIG_SOURCE] = describe_config(
    workflow.configfiles, bool(workflow.config_settings.config)
)
# a refused setting in one line (dlnet/config.py), then Snakemake's check with the defaults
check_config(config)
validate(config, "config.schema.yaml")
# keys in config.yaml's order, whatever order the files and defaults gave (dlnet/config.py)
in_shipped_order(config)

# Jobs import the `dlnet` package from this checkout even where it is not pip-installed
# (conda environments, cluster nodes).
os.environ.update(
    PYTHONPATH=os.pathsep.join(filter(None, [workflow.basedir, os.environ.get("PYTHONPATH")]))
)


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/baselines.smk"
include: "rules/teacher.smk"
include: "rules/students.smk"
include: "rules/prune_recover.smk"
include: "rules/pareto.smk"
include: "rules/seeds.smk"
include: "rules/deploy.smk"
include: "rules/export.smk"
include: "rules/firmware.smk"
include: "rules/latency.smk"
include: "rules/peers.smk"
include: "rules/ablation.smk"
include: "rules/report.smk"


# Bookkeeping rules that take a second: on a cluster they run beside Snakemake, not as jobs.
localrules:
    all,
    front1,
    pareto,
    deploy_summary,
    summary,


rule all:
    default_target: True
    input:
        all_targets(),
