"""One module per workflow rule: read the rule's inputs, call the package, write its outputs.

Each `run` takes the rule's input, output and params (Snakemake's objects, or any object with the
same attributes, which is how the tests call them), a log path and a thread count. The rule's
script is two lines: `bridge(run, snakemake)`.
"""

import sys
import traceback

from dlnet.errors import InputError

# What a job is handed after a --forcerun upstream of a checkpoint that then had nothing to redo:
# Snakemake plans the job while the checkpoint looks due, with the checkpoint's output standing
# in for what the input function will name, and starts it without asking the function again.
REPLAN = ("run snakemake again: it plans this job afresh from the checkpoints' outputs (a "
          "Snakemake limitation after --forcerun of a rule upstream of a checkpoint)")


def bridge(run, snakemake):
    """Call a rule's `run` with what Snakemake gives the script. Bad input (InputError) ends the
    job with its one-line message, in the log and on stderr; anything else is a bug, and its
    traceback goes into the rule's log too, so that --show-failed-logs shows the error itself."""
    log = snakemake.log[0]
    try:
        run(snakemake.input, snakemake.output, snakemake.params, log, snakemake.threads)
    except InputError as e:
        with open(log, "a") as f:
            f.write(f"error: {e}\n")
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(1) from None
    except BaseException:
        with open(log, "a") as f:
            f.write(traceback.format_exc())
        raise


def planned(files, name, suffix, path):
    """The list input `name` as its input function names it: files ending in `suffix`. InputError
    (naming `path`, the checkpoint's output the job was planned from) when Snakemake handed the
    job something else (REPLAN)."""
    files = [files] if isinstance(files, str) else list(files)
    strays = [f for f in files if not str(f).endswith(suffix)]
    if strays:
        raise InputError(path, f"the job was handed {strays[0]} as its {name}, which should be "
                         f"*{suffix} files only", REPLAN)
    return files
