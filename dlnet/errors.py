"""The one error type a user sees for bad input: it names the file, the field and the fix."""

import os

# Where the Snakefile records the config files a run reads, for errors about a setting
CONFIG_SOURCE = "DLNET_CONFIG_SOURCE"


def config_source():
    """The file an error about a setting names: config.yaml, and what the command line put over
    it (`--configfile`, `--config`), as the Snakefile recorded them (jobs inherit it)."""
    return os.environ.get(CONFIG_SOURCE, "config.yaml")


def describe_config(configfiles, command_line_values=False):
    """config_source()'s text for a run from Snakemake's `workflow.configfiles`: those given with
    --configfile (absolute paths), then the Snakefile's own, which Snakemake appends last and they
    override; each relative to the working directory where it lies under it."""
    def shown(f):
        relative = os.path.relpath(f)
        return str(f) if relative.startswith("..") else relative

    files = [shown(f) for f in configfiles]
    text = " + ".join(files[-1:] + [f for f in files[:-1] if f != files[-1]]) or "config.yaml"
    return text + (" + --config" if command_line_values else "")


def few(items, most=10):
    """The first `most` of `items` (texts), comma-separated, then "..." if there are more: a list
    a message can hold."""
    items = list(items)
    return ", ".join(items[:most]) + (", ..." if len(items) > most else "")


class InputError(ValueError):
    """Bad input data or configuration.

    The message always says where (file, and cell or column when known), what is wrong, and
    what to do about it, so that a failed Snakemake job tells the user how to recover.
    """

    def __init__(self, file, problem, fix, cell=None, column=None):
        self.file, self.problem, self.fix = str(file), problem, fix
        self.cell, self.column = cell, column
        where = [f"file {self.file}"]
        if cell is not None:
            where.append(f"cell {cell}")
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(f"{', '.join(where)}: {problem}. Fix: {fix}")
