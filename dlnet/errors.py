"""The one error type a user sees for bad input: it names the file, the field and the fix."""


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
