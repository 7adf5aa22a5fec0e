# Deployment exports of the model the Pareto selection chose: float ONNX, and the int8 TFLite
# flatbuffer (what the paper deployed) with its C array header and its check in TFLite Micro.
# selected_model (rules/common.smk) reads the model's path from the pareto checkpoint's
# selected.json; selected.json is an input too, so a new selection reruns the exports.


rule export_onnx:
    input:
        selected="results/{protocol}/pareto/selected.json",
        model=selected_model,
        dataset="results/{protocol}/data/dataset.npz",
        info="results/{protocol}/data/dataset.json",
    output:
        onnx="results/{protocol}/deploy/model.onnx",
        check="results/{protocol}/deploy/onnx_check.json",
    log:
        "results/{protocol}/logs/export_onnx.log",
    benchmark:
        "results/{protocol}/logs/export_onnx_benchmark.tsv"
    conda:
        "../envs/onnx.yaml"
    threads: 1
    params:
        seed=config["seed"],
        opset=config["export"]["onnx_opset"],
        tolerance=config["export"]["onnx_tolerance"],
    script:
        "../scripts/export_onnx.py"


rule export_tflite:
    input:
        selected="results/{protocol}/pareto/selected.json",
        model=selected_model,
        dataset="results/{protocol}/data/dataset.npz",
        info="results/{protocol}/data/dataset.json",
    output:
        tflite="results/{protocol}/deploy/model_int8.tflite",
        header="results/{protocol}/deploy/model_tflite.h",
    log:
        "results/{protocol}/logs/export_tflite.log",
    benchmark:
        "results/{protocol}/deploy/export_tflite_benchmark.tsv"
    conda:
        "../envs/tflite.yaml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        seed=config["seed"],
        calibration_windows=config["deploy"]["calibration_windows"],
        activations=config["export"]["tflite_activations"],
    script:
        "../scripts/export_tflite.py"


rule check_tflite:
    input:
        tflite="results/{protocol}/deploy/model_int8.tflite",
        selected="results/{protocol}/pareto/selected.json",
        model=selected_model,
        dataset="results/{protocol}/data/dataset.npz",
        info="results/{protocol}/data/dataset.json",
    output:
        metrics="results/{protocol}/deploy/tflite_metrics.json",
    log:
        "results/{protocol}/logs/check_tflite.log",
    benchmark:
        "results/{protocol}/logs/check_tflite_benchmark.tsv"
    conda:
        "../envs/tflite.yaml"
    threads: 1
    params:
        seed=config["seed"],
        int8_tolerance=config["deploy"]["int8_tolerance"],
    script:
        "../scripts/check_tflite.py"
