from dlnet.data.download import fetch
from dlnet.logs import Log

batch = snakemake.params.batch
fetch(batch["url"], snakemake.output[0], batch.get("sha256"), batch.get("size"), Log(snakemake.log[0]))
