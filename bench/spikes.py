"""Spike detection on replayed real ticket streams, with injected bursts of reworded tickets about one outage.

Streams: Apache Hadoop issues at their real `Created` times (sparse: a few a day), and real multilingual
support tickets (tickets-multilang, evaluation only) at synthetic Poisson arrival times on weekdays
08:00-20:00 (~12 an hour: dense, the harder case for false alerts). The first part of each stream is
the training history (seeded exactly as `triage train` does: threshold, problems); the rest is replayed
ticket by ticket through `Recurring.observe`, the code path of `/v1/classify`.

Replay A has only the real stream: every alert is false. Replay B injects the four bursts of
bench/spike_bursts.json (10 hand-written rewordings each, ~3 minutes apart, one at a random time each) —
repeated with several seeds. Reported: detection rate, delay in tickets (3 is the earliest possible with
min_count=3) and minutes after the burst's first ticket, false alerts per week of normal traffic.

    python bench/spikes.py --out bench/results/spikes.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.duplicates import DATA, MAPPING  # noqa: E402
from training.recurring import build_history_seed  # noqa: E402
from triage import CachedEmbedder, Settings, load_embedder, load_tickets, ticket_text  # noqa: E402
from triage._recurring import open_recurring  # noqa: E402
from triage._spike import SpikeConfig  # noqa: E402
from triage.results import Prediction  # noqa: E402

WEEK = 7 * 86400.0
from _common import require_datasets, shared_datasets  # type: ignore[import-not-found]  # noqa: E402

MULTI = shared_datasets() / "tickets-multilang" / "dataset-tickets-multi-lang-4-20k.prefix.csv"


class Collector:
    """Stands where the AlertSender would: keeps the events instead of posting them."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def send(self, event: Any) -> None:
        self.events.append(event)

    def close(self) -> None:
        pass


def hadoop_stream() -> pd.DataFrame:
    df = load_tickets([DATA / "hadoop_bugs.csv"], MAPPING)
    df["t"] = (df["created_at"] - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    return df.sort_values("t").reset_index(drop=True)[["id", "subject", "text", "t"]]


def multilang_stream(seed: int = 0) -> pd.DataFrame:
    raw = pd.read_csv(MULTI)
    rng = np.random.default_rng(seed)
    hours_open = 12 * 5 * 3  # three weeks of weekday business hours
    gaps = rng.exponential(hours_open * 3600 / len(raw), len(raw))
    work = np.cumsum(gaps)  # seconds of business time -> wall clock
    day, rest = np.divmod(work, 12 * 3600)
    week, weekday = np.divmod(day, 5)
    start = pd.Timestamp("2026-11-02T08:00:00Z").timestamp()  # a Monday
    t = start + week * WEEK + weekday * 86400 + rest
    texts = [ticket_text(s if isinstance(s, str) else "", b if isinstance(b, str) else "")
             for s, b in zip(raw["subject"], raw["body"], strict=True)]
    return pd.DataFrame({"id": [f"M-{i}" for i in range(len(raw))], "subject": raw["subject"].fillna("").astype(str),
                         "text": texts, "t": t})


def seeded(df: pd.DataFrame, vecs: np.ndarray, cut: int, folder: Path, embedder_id: str) -> Any:
    """A bundle folder whose history seed is the stream's first `cut` tickets, opened like the service does."""
    hist = df.iloc[:cut].copy()
    hist["created_at"] = pd.to_datetime(hist["t"], unit="s", utc=True)
    hist["body"] = ""
    (folder / "history").mkdir(parents=True)
    build_history_seed(hist, vecs[:cut], embedder_id, folder / "history", [])
    manifest = {"model_version": "bench", "embedder": {"id": embedder_id}}
    recurring = open_recurring(folder, manifest, vecs.shape[1], live=folder / "live.sqlite", spike=SpikeConfig())
    assert recurring is not None and recurring.spike is not None
    recurring.spike.sender = Collector()
    return recurring


def replay(df: pd.DataFrame, vecs: np.ndarray, cut: int, embedder_id: str, bursts: list[dict[str, Any]]
           ) -> dict[str, Any]:
    """Stream the live part (plus bursts) ticket by ticket; classify alerts as detections or false."""
    live = [(float(r.t), r.id, r.subject, r.text, vecs[i]) for i, r in enumerate(df.itertuples()) if i >= cut]
    for b in bursts:
        live += [(t, tid, s, x, v) for t, tid, s, x, v in zip(b["t"], b["ids"], b["subjects"], b["texts"], b["vecs"],
                                                              strict=True)]
    live.sort(key=lambda r: r[0])
    with tempfile.TemporaryDirectory() as tmp:
        recurring = seeded(df, vecs, cut, Path(tmp), embedder_id)
        t0 = time.perf_counter()
        for t, tid, subject, text, vec in live:
            recurring.observe([{"id": tid, "created_at": t, "subject": subject}], vec[None, :], [text], [Prediction()])
        seconds = time.perf_counter() - t0
        opened = [e for e in recurring.spike.sender.events if e.kind == "open"]
        threshold = recurring.spike.threshold
        recurring.close()
    burst_of = {tid: b["name"] for b in bursts for tid in b["ids"]}
    detections: dict[str, dict[str, Any]] = {}
    false: list[dict[str, Any]] = []
    for e in opened:
        names = {burst_of[t] for t in e.payload["tickets"] if t in burst_of}
        if not names:
            false.append({"title": e.payload["title"], "tickets": e.payload["tickets"][:5],
                          "started_at": e.payload["started_at"]})
        for name in names - set(detections):
            b = next(b for b in bursts if b["name"] == name)
            seen = [i for i, tid in enumerate(b["ids"]) if tid in e.payload["tickets"]]
            trigger = max(seen)  # the alert went out with the burst's latest ticket so far
            detections[name] = {"delay_tickets": trigger + 1,
                                "delay_minutes": round((b["t"][trigger] - b["t"][0]) / 60, 1)}
    per_burst = {b["name"]: sum(any(burst_of.get(t) == b["name"] for t in e.payload["tickets"]) for e in opened)
                 for b in bursts}
    weeks = (live[-1][0] - live[0][0]) / WEEK
    return {"live_tickets": len(live), "weeks": round(weeks, 2), "alerts": len(opened), "false_alerts": len(false),
            "false_alerts_per_week": round(len(false) / max(weeks, 1e-9), 3), "detections": detections,
            "false_alert_examples": false[:5], "alerts_per_burst": per_burst,
            "threshold": round(threshold, 4), "ms_per_ticket": round(1000 * seconds / len(live), 2)}


def make_bursts(texts: dict[str, list[list[str]]], vecs: dict[str, np.ndarray], t_from: float, t_to: float,
                rng: np.random.Generator, gap_minutes: float = 3.0) -> list[dict[str, Any]]:
    out = []
    starts = np.sort(rng.uniform(t_from, t_to - 86400, len(texts)))
    for (name, items), start in zip(texts.items(), starts, strict=True):
        times = start + np.concatenate([[0], np.cumsum(rng.exponential(gap_minutes * 60, len(items) - 1))])
        out.append({"name": name, "t": times.tolist(), "ids": [f"{name}-{i}" for i in range(len(items))],
                    "subjects": [s for s, _ in items], "texts": [ticket_text(s, b) for s, b in items],
                    "vecs": vecs[name]})
    return out


def run_stream(name: str, df: pd.DataFrame, embedder: CachedEmbedder, burst_texts: dict[str, Any],
               seeds: int) -> dict[str, Any]:
    vecs = embedder.encode(df["text"].tolist(), kind="query", batch_size=32, progress=True)
    burst_vecs = {k: embedder.encode([ticket_text(s, b) for s, b in v], kind="query") for k, v in burst_texts.items()}
    cut = int(len(df) * (0.6 if name == "hadoop" else 1 / 3))
    normal = replay(df, vecs, cut, embedder.model_id, [])
    runs = []
    for seed in range(seeds):
        bursts = make_bursts(burst_texts, burst_vecs, float(df["t"].iloc[cut]), float(df["t"].iloc[-1]),
                             np.random.default_rng(seed))
        runs.append(replay(df, vecs, cut, embedder.model_id, bursts))
    found = [d for r in runs for d in r["detections"].values()]
    n_bursts = seeds * len(burst_texts)
    tickets = [d["delay_tickets"] for d in found] or [np.nan]
    minutes = [d["delay_minutes"] for d in found] or [np.nan]
    summary = {"bursts": n_bursts, "detected": len(found), "detection_rate": round(len(found) / n_bursts, 3),
               "delay_tickets_median": float(np.median(tickets)), "delay_tickets_max": float(max(tickets)),
               "delay_minutes_median": float(np.median(minutes)), "delay_minutes_max": float(max(minutes)),
               "false_alerts_per_week_normal": normal["false_alerts_per_week"],
               "weeks_normal": normal["weeks"], "false_alerts_normal": normal["false_alerts"],
               "false_alerts_with_bursts": sum(r["false_alerts"] for r in runs),
               "max_alerts_per_burst": max((n for r in runs for n in r["alerts_per_burst"].values()), default=0)}
    return {"tickets": len(df), "history_tickets": cut, "normal": normal, "with_bursts": runs, "summary": summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--streams", nargs="+", default=["hadoop", "multilang"])
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "spikes.json")
    args = parser.parse_args()
    require_datasets("hadoop-duplicates", "tickets-multilang")
    settings = Settings()
    embedder = CachedEmbedder(load_embedder("e5-small", cache_dir=settings.cache_dir, max_tokens=256),
                              settings.cache_dir / "embeddings.sqlite")
    bursts = {k: v for k, v in json.loads((REPO / "bench" / "spike_bursts.json").read_text()).items()
              if not k.startswith("_")}
    streams = {"hadoop": hadoop_stream, "multilang": multilang_stream}
    result: dict[str, Any] = {"embedder": embedder.model_id, "config": SpikeConfig().__dict__}
    for name in args.streams:
        result[name] = run_stream(name, streams[name](), embedder, bursts, args.seeds)
        print(name, json.dumps(result[name]["summary"]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
