# Firmware for the Nano 33 BLE Sense (nRF52840, Cortex-M4F, 64 MHz). firmware_m4 builds the int8
# core with the deployed model for a Cortex-M4 (Debian's arm-none-eabi-gcc), runs real held-out
# windows in QEMU and checks every output against the NumPy reference bit for bit; it needs no
# board and no network. firmware_arduino compiles the sketch with arduino-cli, only when
# config enables it: arduino-cli downloads its board core and is not a Debian package.

from dlnet.firmware import core_files

FIRMWARE = config["firmware"]
# Each rule sees only its own settings, so that changing one reruns only that rule.
FIRMWARE_M4 = {k: FIRMWARE[k] for k in ("windows", "optimize", "cpi", "qemu_timeout")}
FIRMWARE_ARDUINO = {"timeout": FIRMWARE["arduino_timeout"]}


onstart:
    # With the sketch build enabled, fail before any job runs, saying how to install
    # arduino-cli and the board core. A hook, not a check at parse time: cluster jobs, dry
    # runs and --report parse this file on machines without arduino-cli.
    if FIRMWARE["arduino"]:
        from dlnet.firmware.arduino import require_cli

        require_cli()


rule firmware_m4:
    input:
        header="results/{protocol}/deploy/dlnet_model.h",
        dataset="results/{protocol}/data/dataset.npz",
        selected="results/{protocol}/pareto/selected.json",
        core=core_files.rule_inputs(),
        m4=["firmware/m4/main.c", "firmware/m4/startup.c", "firmware/m4/nrf52840.ld"],
    output:
        report="results/{protocol}/firmware/m4_report.json",
        elf="results/{protocol}/firmware/m4/app.elf",
    log:
        "results/{protocol}/logs/firmware_m4.log",
    benchmark:
        "results/{protocol}/logs/firmware_m4_benchmark.tsv"
    conda:
        "../envs/firmware.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=20,
    params:
        firmware=FIRMWARE_M4,
    script:
        "../scripts/firmware_m4.py"


rule firmware_arduino:
    input:
        header="results/{protocol}/deploy/dlnet_model.h",
        dataset="results/{protocol}/data/dataset.npz",
        selected="results/{protocol}/pareto/selected.json",
        core=core_files.rule_inputs(),
        sketch="firmware/nano33ble/nano33ble.ino",
    output:
        sketch=directory("results/{protocol}/firmware/nano33ble"),
        size="results/{protocol}/firmware/arduino_size.json",
    log:
        "results/{protocol}/logs/firmware_arduino.log",
    benchmark:
        "results/{protocol}/logs/firmware_arduino_benchmark.tsv"
    conda:
        "../envs/firmware.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=40,
    params:
        arduino=FIRMWARE_ARDUINO,
    script:
        "../scripts/firmware_arduino.py"
