"""One module per workflow rule: read the rule's inputs, call the package, write its outputs.

Each `run` takes the rule's input, output and params (Snakemake's objects, or any object with the
same attributes, which is how the tests call them), a log path and a thread count.
"""
