"""Model names and which students a protocol trains (dlnet/names.py, torch-free for the DAG)."""

import pytest

from dlnet.errors import InputError
from dlnet.names import protocol_students, student_architectures

FAMILIES = {"paper": {"enc_hidden": 256, "dec_hidden": 256, "dec_mid": 128, "widths": [16, 8]},
            "tiny": {"enc_hidden": 16, "dec_hidden": 16, "dec_mid": 16, "widths": [8, 4]}}


def test_students_are_named_by_width_and_family():
    students = student_architectures(FAMILIES)
    assert list(students) == ["h16", "h8", "h8-tiny", "h4-tiny"]
    assert students["h4-tiny"] == {"family": "tiny", "width": 4, "enc_hidden": 16,
                                   "dec_hidden": 16, "dec_mid": 16}


def test_a_protocol_trains_its_families_or_all_of_them():
    students = student_architectures(FAMILIES)
    assert list(protocol_students(students, ["tiny"], "cells")) == ["h8-tiny", "h4-tiny"]
    assert list(protocol_students(students, None, "paper")) == list(students)


def test_an_unknown_family_names_the_key_and_the_choices():
    with pytest.raises(InputError) as e:
        protocol_students(student_architectures(FAMILIES), ["tiny", "huge"], "cells")
    message = str(e.value)
    assert "protocols.cells.families" in message and "'huge'" in message and "paper" in message
