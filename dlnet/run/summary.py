"""Rule summary: the main table, the firmware table and the time per stage, as Markdown and CSV."""

import pandas as pd

from dlnet import protocols, stage_times, summary
from dlnet.io import read_json, write_csv, write_text
from dlnet.logs import Log
from dlnet.run import planned


def run(input, output, params, log, threads=1):
    log = Log(log)
    info = read_json(input.info)
    table = summary.main_table(input.candidates, input.selected, input.deploy_metrics, input.sizes,
                               input.m4_report, input.peers, adapter=info["dataset"])
    published = table["model"].str.endswith("[published]").any()
    peers = table["stage"].eq("peer").any()
    firmware = summary.firmware_table(input.m4_report, input.sizes)
    against = summary.against_baseline_table(input.against_baseline)
    times = stage_times.stage_table(planned(input.benchmarks, "benchmarks", "benchmark.tsv",
                                            input.selected))
    signals = (summary.signals_table([read_json(p) for p in input.ablation], params.signals)
               if input.ablation else pd.DataFrame(columns=["group"]))
    selected = read_json(input.selected)
    finalists = summary.finalists_table(input.pareto)
    lines = [f"# {params.protocol}: main table", "",
             f"Protocol `{params.protocol}` ({params.kind}). "
             + protocols.describe(params.protocol_config, info["splits"],
                                  info["scaler"].get("trend_len"))
             + summary.validation_note(info["splits"], info.get("cells_left_out")), "",
             summary.selection_text(selected, input.seeds, input.candidates), "",
             summary.to_markdown(table), "",
             "MAE in SOH units. "
             + ("Rows marked [published] are the paper's own numbers on its own protocol (16 "
                "segments), shown for reference, not recomputed here. " if published else "")
             + ("Rows marked [peer] are published models run by this project's code (TFLite "
                "Micro) on these windows, under the input scaling named. " if peers else "")
             + "The candidates' rows are one run (the configured seed) in float; the selection "
             "read the table below."
             + summary.tflite_note(read_json(input.sizes), params.max_int8_bytes), "",
             "## Against the quadratic baseline", "",
             summary.to_markdown(against), "",
             summary.against_baseline_note(input.against_baseline), "",
             "## The selection", "",
             summary.to_markdown(finalists), "",
             summary.finalists_note(selected["rule"]["rule"]), "",
             "## On the microcontroller", "",
             summary.to_markdown(firmware), "",
             "Instructions are counted in QEMU (Cortex-M4, -icount); cycles cost each "
             "instruction QEMU traced with the Cortex-M4 TRM timings (dlnet/firmware/m4cycles.py), "
             "and latency is those cycles at 64 MHz with no to one flash wait state per word "
             "loaded, an estimate until a board measures it. Flash is model data plus the core's code; RAM is static data, "
             "scratch and buffers; the paper's RAM figure is its TFLite Micro arena."
             + summary.latency_note(selected, input.m4_report), "",
             "## Signals beside the SOH window", "",
             summary.signals_text(params.signals, signals, params.min_gain), "",
             "## Time per stage", "",
             summary.to_markdown(times.assign(job_seconds=times["job_seconds"].round().astype(int),
                                              share=times["share"].map("{:.0%}".format))), "",
             f"Job seconds from the rules' benchmark.tsv files, {times['jobs'].sum()} jobs, "
             f"{times['job_seconds'].sum():.0f} s in all: on n cores the run takes about that "
             "over n. Seed reruns are the finalists' extra training runs (their lineage "
             "included); max_rss_mb is the largest memory one job of the stage held."]
    write_csv(output.table, table)
    write_csv(output.finalists, finalists)
    write_csv(output.firmware, firmware)
    write_csv(output.against_baseline, against)
    write_csv(output.ablation, signals)
    write_csv(output.times, times)
    write_text(output.markdown, "\n".join(lines) + "\n")
    log(f"main table: {len(table)} rows")
