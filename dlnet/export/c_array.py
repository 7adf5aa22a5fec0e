"""A flatbuffer as a C array header, laid out like `xxd -i` output, for TFLite Micro firmware."""

import re
from pathlib import Path


def header(data, source, about=None):
    """C/C++ header text defining the bytes of file `source` as an array named, like xxd names it,
    after the file (model_int8.tflite -> model_int8_tflite) and its length as `<name>_len`.

    TFLite Micro reads weights in place from the array and needs it 16-byte aligned; alignas is
    C++11, which is what TFLite Micro code is compiled as. `about`: a line on what the bytes hold.
    """
    name = re.sub(r"\W", "_", Path(source).name)
    guard = name.upper() + "_H"
    rows = [", ".join(f"0x{b:02x}" for b in data[i:i + 12]) for i in range(0, len(data), 12)]
    body = ",\n  ".join(rows)
    return (f"// Generated from {Path(source).name} by dlnet.export.c_array; do not edit.\n"
            + (f"// {about}\n" if about else "")
            + "// C++ (alignas), as TFLite Micro is: include it in one translation unit.\n"
            f"#ifndef {guard}\n#define {guard}\n\n"
            f"alignas(16) const unsigned char {name}[] = {{\n  {body}\n}};\n"
            f"const unsigned int {name}_len = {len(data)};\n\n"
            f"#endif  // {guard}\n")
