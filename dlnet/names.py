"""Names of the models, shared by the rules and the package; no torch, so that building the DAG
does not import it."""


def student_architectures(families):
    """Student name -> architecture, from config.yaml's `students.families`: the paper-sized
    family's students are h{width}, the others h{width}-{family}."""
    return {(f"h{w}" if family == "paper" else f"h{w}-{family}"):
            {"family": family, "width": w, "enc_hidden": f["enc_hidden"],
             "dec_hidden": f["dec_hidden"], "dec_mid": f["dec_mid"]}
            for family, f in families.items() for w in f["widths"]}


def protocol_students(students, families, protocol):
    """The students (name -> architecture) protocol `protocol` trains: those of `families` (its
    `families` in config.yaml), or all of them when it names none."""
    if families is None:
        return dict(students)
    known = {a["family"] for a in students.values()}
    unknown = [f for f in families if f not in known]
    if unknown:
        from dlnet.errors import InputError, config_source

        raise InputError(config_source(), f"protocol {protocol} names student families {unknown} "
                         "that students.families does not define",
                         f"use some of {sorted(known)}", column=f"protocols.{protocol}.families")
    return {n: a for n, a in students.items() if a["family"] in families}
