"""Names of the models, shared by the rules and the package; no torch, so that building the DAG
does not import it."""


def student_architectures(families):
    """Student name -> architecture, from config.yaml's `students.families`: the paper-sized
    family's students are h{width}, the others h{width}-{family}."""
    return {(f"h{w}" if family == "paper" else f"h{w}-{family}"):
            {"family": family, "width": w, "enc_hidden": f["enc_hidden"],
             "dec_hidden": f["dec_hidden"], "dec_mid": f["dec_mid"]}
            for family, f in families.items() for w in f["widths"]}
