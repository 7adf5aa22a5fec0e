"""One module per workflow rule: read the rule's inputs, call the package, write its outputs.

Each `run` takes the rule's input, output and params (Snakemake's objects, or any object with the
same attributes, which is how the tests call them), a log path and a thread count. The rule's
script is two lines: `bridge(run, snakemake)`.
"""

import traceback


def bridge(run, snakemake):
    """Call a rule's `run` with what Snakemake gives the script; on failure the traceback goes
    into the rule's log too, so that --show-failed-logs shows the error itself."""
    log = snakemake.log[0]
    try:
        run(snakemake.input, snakemake.output, snakemake.params, log, snakemake.threads)
    except BaseException:
        with open(log, "a") as f:
            f.write(traceback.format_exc())
        raise
