"""Full-integer (int8) deployment of a LiquidNet, specified in NumPy and mirrored in C.

    fixedpoint   the integer primitives: requantization, rounding shifts, 1/sqrt, SOH in Q7.24
                 and out in Q1.14
    floatref     the float model step by step (calibration and per-op checks)
    calibrate    activation ranges and int8/int16 scales; int8 weight quantization
    qmodel       QuantModel: every integer parameter; quantize() and the range checks
    reference    the integer forward pass: the specification firmware/core follows
    blob         the byte format the C core reads (magic, version, CRC-32, layout)
    header       dlnet_model.h, the blob as a C array, and back
    host         build and run firmware/host/dlnet_host.c (optimized, ASan/UBSan, portable C)
    verify       C against NumPy on real and random models, and rejection of bad models
    random_models  random LiquidNets and windows for that verification
"""
