"""Firmware for the Nano 33 BLE Sense: a Cortex-M4 build run in QEMU, and the Arduino sketch.

    tools       the external programs (arm-none-eabi-*, qemu-system-arm, arduino-cli, g++) and
                what to install when one is missing
    core_files  the C core's files, named once
    held_out_windows  the real held-out windows a firmware runs, and their C headers
    m4build     compile and link the C core into a bare-metal Cortex-M4F image (nRF52840 map)
    qemu        run that image in QEMU and read what it prints
    elfsize     flash and RAM of an image and its parts, from the ELF
    stack       worst-case stack of a function from GCC's call-graph files
    latency     instructions to a latency estimate at 64 MHz (a cycles-per-instruction bracket)
    m4cycles    the Cortex-M4 cycles of each instruction QEMU traced: a tighter latency
    m4          the whole check: build, run, compare with the NumPy reference, report
    arduino     stage the sketch and compile it with arduino-cli
    sketchhost  build and run the sketch on the host against the Arduino stand-in
"""
