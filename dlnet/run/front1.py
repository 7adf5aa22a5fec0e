"""Rule front1 (checkpoint): the students on the first fronts of error against cost go on to
pruning."""

from dlnet import candidates
from dlnet.io import write_csv
from dlnet.logs import Log
from dlnet.pareto import front_ranks


def run(input, output, params, log, threads=1):
    """Students on the first `front1_ranks` fronts of the validation objectives go on to pruning."""
    log = Log(log)
    frame = candidates.table(input.metrics, input.models)
    frame["front"] = front_ranks(frame[params.objectives].to_numpy(float))
    frame["prune"] = frame["front"] <= params.front1_ranks
    for _, r in frame.sort_values(["front", "val_mae"]).iterrows():
        log(f"{r['name']:>14s} front {r['front']} val MAE {r['val_mae']:.5f} "
            f"int8 {int(r['int8_bytes'])} B macs {int(r['macs'])}{'  -> prune' if r['prune'] else ''}")
    write_csv(output.front, frame)
