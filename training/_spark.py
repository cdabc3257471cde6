"""`triage predict --engine spark`: a backfill on a Spark cluster (or `local[N]`), one model per executor.

History semantics of a backfill. The input is put in `created_at` order (input order where absent),
exactly as single-process `predict` does, and cut into `--partitions` contiguous time ranges, one
per Spark partition. Each partition is classified in that order by one model, on its own throwaway
copy of the bundle's ticket history: a ticket's `recurring.similar` lists tickets created before it
from the training history and from the *earlier tickets of its own partition*, never from another
partition (those run at the same time). So the first partition's results equal single-process
`predict`'s, later partitions may miss similar tickets that fell into an earlier range (fewer,
larger partitions miss fewer; `--partitions 1` is exactly `predict`), and the known problems and
spikes are likewise per partition. Labels, module, owner, completeness and KB suggestions do not
depend on the history and are identical to `predict`'s. The output is the same JSON lines, in the
same order, written atomically by the driver.

One model per executor: each Python worker loads the bundle (embedder, heads, KB) once and keeps it
for every partition it is given (Spark reuses its Python workers); only the history copy is per
partition. On a real cluster the bundle (and KB) path must be readable by every executor (a shared
file system) and the `triage` package installed there.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from kb_index.durable import atomic_file
from triage.errors import TriageError
from triage.settings import Settings

_MODELS: dict[str, Any] = {}  # per Python worker process: (bundle, kb) -> the loaded model


def spark_session(master: str) -> Any:
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise TriageError("`--engine spark` needs pyspark (and Java 17): pip install 'triage[spark]', or run "
                          "`triage predict` without --engine") from exc
    builder = SparkSession.builder.master(master).appName("triage predict")
    if master.startswith("local"):  # one box: nothing listens beyond loopback, workers run this Python
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
    return (builder.config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.python.worker.reuse", "true").config("spark.ui.enabled", "false").getOrCreate())


def predict_spark(bundle: Path, records: list[dict[str, Any]], output: Path, *, settings: Settings,
                  kb: Path | None, master: str, partitions: int | None = None) -> int:
    """Classify `records` (already in created_at order) on Spark; write `output` in that order."""
    spark = spark_session(master)
    try:
        parts = partitions or max(1, int(spark.sparkContext.defaultParallelism))
        frame = pd.DataFrame({"pos": range(len(records)),
                              "ticket": [json.dumps(r, ensure_ascii=False, default=str) for r in records]})
        config = json.dumps({"bundle": str(bundle), "kb": None if kb is None else str(kb),
                             "settings": settings.model_dump(mode="json", exclude={"history_db"})})
        results = (spark.createDataFrame(frame).repartitionByRange(parts, "pos").sortWithinPartitions("pos")
                   .mapInPandas(lambda batches: _classify_partition(batches, config), "pos long, result string"))
        output.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(output) as fh:  # range partitions come back in order: the file is in created_at order
            for row in tqdm(results.toLocalIterator(), total=len(records), desc="classifying", unit="ticket"):
                fh.write(row["result"] + "\n")
    finally:
        spark.stop()
    return len(records)


def _classify_partition(batches: Iterator[pd.DataFrame], config: str) -> Iterator[pd.DataFrame]:
    """On an executor: one partition, in order, with the worker's model and a fresh copy of the history."""
    from triage._recurring import recurring_from_settings

    spec = json.loads(config)
    settings = Settings(**spec["settings"])
    model = _model(spec["bundle"], spec["kb"], settings)
    model.recurring = recurring_from_settings(Path(spec["bundle"]), model.manifest, model.embedder.dim, settings,
                                              ephemeral=True, alerts=False)
    try:
        for batch in batches:
            tickets = [json.loads(t) for t in batch["ticket"]]
            out = []
            for start in range(0, len(tickets), 256):
                out += model.classify(tickets[start:start + 256], batch_size=settings.batch_size)
            yield pd.DataFrame({"pos": batch["pos"].to_numpy(),
                                "result": [json.dumps(r, ensure_ascii=False) for r in out]})
    finally:
        recurring, model.recurring = model.recurring, None
        if recurring is not None:
            recurring.close()


def _model(bundle: str, kb: str | None, settings: Settings) -> Any:
    key = f"{bundle}\x1f{kb}"
    if key not in _MODELS:
        from triage import open_triage

        _MODELS[key] = open_triage(bundle, settings, kb=Path(kb) if kb else None, history="none", alerts=False)
    return _MODELS[key]
