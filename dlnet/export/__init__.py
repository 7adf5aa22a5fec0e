"""Deployment exports of a trained LiquidNet: int8 TFLite for TFLite Micro, float ONNX.

integer_net  the export-only form of LiquidNet that converts to an all-int8 TFLite graph
tflite_quantization  the PT2E quantizers (int16 or int8 activations) and GPTQ weight rounding
tflite       conversion to a full-integer TFLite flatbuffer with litert-torch
flatbuffer   reading a flatbuffer back, with a clear error when it is truncated or not TFLite
micro        running a flatbuffer in TFLite Micro's own kernels: predictions and arena size
c_array      the flatbuffer as a C array header for the firmware
onnx_model   float ONNX export and its check against PyTorch with onnxruntime
"""
