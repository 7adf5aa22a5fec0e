"""The DLNet paper's published figures (arXiv 2601.06227), shown beside ours as a reference.

Sizes and time of the deployed model are from the paper's text and its authors' firmware;
21 ms at 64 MHz over ~64,900 multiply-accumulates is about 21 cycles per multiply-accumulate.
"""

DEPLOYED = {
    "name": "paper: DLNet deployed (h4, pruned 0.1, int8 TFLite)",
    "params": 66_812,
    "macs": 64_900,
    "flatbuffer_bytes": 96_392,
    "arena_bytes": 25_000,
    "latency_ms": 21.0,
    "segments_mae": 0.0066,
}
TEACHER = {"name": "paper: teacher (float)", "params": 155_749, "segments_mae": 0.0078}
