"""Rule score_peer: a published int8 TFLite model on this protocol's windows, in TFLite Micro,
under each of its named input scalings; or, when its file is absent, a record that says how to
fetch it (the default run stays offline)."""

from dlnet import protocols
from dlnet.data.download import sha256_of
from dlnet.io import versions, write_json
from dlnet.logs import Log


def run(input, output, params, log, threads=1):
    log = Log(log)
    peer, path = params.peer, params.path
    record = {"name": params.name, "label": peer["label"], "file": path,
              "published": peer.get("published", {})}
    if not getattr(input, "model", None):
        how = (f"fetch it with: snakemake --cores 1 {path}" if peer.get("url")
               else f"place the model at {path}")
        log(f"{path} is absent: {how}")
        write_json(output.metrics, {**record, "status": "absent", "how": how})
        return
    from dlnet import peers
    from dlnet.export import flatbuffer
    from dlnet.export.micro import Micro, arena_size

    data = flatbuffer.read(input.model)
    digest = sha256_of(input.model)
    if peer.get("sha256") and digest != peer["sha256"].lower():
        log(f"WARNING: {path} has SHA-256 {digest}, not the pinned {peer['sha256']}")
    arena, recorded = arena_size(input.model)
    micro = Micro(data, arena)
    splits = protocols.load(input.dataset)
    scalings = peers.score(micro, splits, peer["scalings"], path)
    for scaling, r in scalings.items():
        log(f"{scaling} scaling (min {r['min']:.10g}, max {r['max']:.10g}): " + ", ".join(
            f"{s} MAE {r[s]['mae']:.5f}" for s in ("val", "test", "test2", "segments") if s in r))
    write_json(output.metrics, {
        **record, "status": "scored", "sha256": digest,
        "sha256_matches_pin": digest == peer["sha256"].lower() if peer.get("sha256") else None,
        "flatbuffer_bytes": len(data), "macs": flatbuffer.fully_connected_macs(data),
        "ops": flatbuffer.op_counts(data), "arena_bytes": arena, "arena_recorded": recorded,
        "input": micro.input, "output": micro.output, "scalings": scalings,
        "versions": versions()})
