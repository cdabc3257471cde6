"""Speed of the service on this machine, through a real uvicorn process on 127.0.0.1.

Measures: training time and peak memory for 5,000 real tickets; /v1/classify latency p50/p95/p99 with
1 and 8 concurrent clients; /v1/classify/batch throughput and its ratio to the raw embedder throughput
measured in the same run. Bounded: a fixed number of requests, every request with a timeout.

    python bench/speed.py --out bench/results/speed.json
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from triage import Mapping, Settings, load_embedder, load_tickets

REPO = Path(__file__).resolve().parents[1]
from _common import require_datasets, shared_datasets  # type: ignore[import-not-found]  # noqa: E402

SHARED = shared_datasets()


def tickets(n: int, short: bool = False) -> list[dict[str, Any]]:
    """Long: tickets-multilang (LLM-written, ~540 characters). Short: real RUTUBE user questions."""
    if short:
        mapping = Mapping(columns={"body": "Вопрос пользователя"})
        df = load_tickets([SHARED / "rutube-support-ru" / "cases.csv"], mapping)
    else:
        df = load_tickets(sorted(glob.glob(str(SHARED / "tickets-multilang" / "*.csv"))))
    df = df.sample(n=min(n, len(df)), random_state=0)
    pairs = zip(df["subject"], df["body"], strict=True)
    return [{"id": f"S-{i}", "subject": s, "body": b} for i, (s, b) in enumerate(pairs)]


def train(workdir: Path, env: dict[str, str], rows: int) -> dict[str, float]:
    """Cold embedding cache, as a first training on a new export would be."""
    df = load_tickets(sorted(glob.glob(str(SHARED / "tickets-multilang" / "*.csv")))).head(rows)
    data = workdir / "train.csv"
    df[["subject", "body", "queue", "priority", "type"]].to_csv(data, index=False)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "training.cli", "train", "--data", str(data), "--target", "queue",
                    "--target", "priority", "--target", "type", "--out", str(workdir / "model")],
                   cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"train_rows": len(df), "train_seconds": round(seconds, 1), "train_peak_rss_mb": round(peak_mb)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentiles(samples: list[float]) -> dict[str, float]:
    arr = np.asarray(samples) * 1000
    return {"p50_ms": round(float(np.percentile(arr, 50)), 1), "p95_ms": round(float(np.percentile(arr, 95)), 1),
            "p99_ms": round(float(np.percentile(arr, 99)), 1), "n": len(samples)}


def latency(url: str, sample: list[dict[str, Any]], clients: int, requests: int) -> dict[str, float]:
    def one(i: int) -> float:
        with httpx.Client(timeout=30) as c:
            t0 = time.perf_counter()
            r = c.post(url + "/v1/classify", json=sample[i % len(sample)])
            r.raise_for_status()
            return time.perf_counter() - t0

    with ThreadPoolExecutor(clients) as pool:
        times = list(pool.map(one, range(requests)))
    return percentiles(times)


def batch_throughput(url: str, sample: list[dict[str, Any]], size: int = 256) -> float:
    with httpx.Client(timeout=600) as c:
        t0 = time.perf_counter()
        for start in range(0, len(sample), size):
            c.post(url + "/v1/classify/batch", json=sample[start:start + size]).raise_for_status()
        return len(sample) / (time.perf_counter() - t0)


def raw_embedder_throughput(sample: list[dict[str, Any]], env: dict[str, str]) -> float:
    settings = Settings(cache_dir=Path(env["TRIAGE_CACHE_DIR"]), max_tokens=int(env.get("TRIAGE_MAX_TOKENS", 256)))
    emb = load_embedder(settings.embedder, cache_dir=settings.cache_dir, max_tokens=settings.max_tokens)
    texts = [f"{t['subject']}\n{t['body']}" for t in sample]
    emb.encode(texts[:32])
    t0 = time.perf_counter()
    emb.encode(texts, batch_size=settings.batch_size)
    return len(texts) / (time.perf_counter() - t0)


def serve(model: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "training.cli", "serve", "--model", str(model), "--port", str(port)],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(1)
    proc.kill()
    raise RuntimeError("server did not start")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("bench/results/speed.json"))
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--train-rows", type=int, default=5000)
    ap.add_argument("--max-tokens", type=int, default=None, help="TRIAGE_MAX_TOKENS for this run")
    ap.add_argument("--model", type=Path, default=None, help="reuse this bundle instead of training one")
    args = ap.parse_args()
    require_datasets("tickets-multilang", "rutube-support-ru")
    work = Path(tempfile.mkdtemp(prefix="triage-bench-"))
    cache = work / "cache"
    cache.mkdir()
    user_models = Settings().cache_dir / "models"
    user_models.mkdir(parents=True, exist_ok=True)
    (cache / "models").symlink_to(user_models)  # reuse the converted model, not the embedding cache
    env = {**os.environ, "TRIAGE_CACHE_DIR": str(cache), "MLFLOW_TRACKING_URI": f"sqlite:///{work}/mlflow.db"}
    if args.max_tokens:
        env["TRIAGE_MAX_TOKENS"] = str(args.max_tokens)
    results: dict[str, Any] = {"cores": os.cpu_count(), "max_tokens": int(env.get("TRIAGE_MAX_TOKENS", 256))}
    if args.model is None:
        results.update(train(work, env, args.train_rows))
        print(json.dumps(results), flush=True)
    model = args.model or work / "model"
    sample, short = tickets(512), tickets(300, short=True)
    proc, url = serve(model, env)
    try:
        latency(url, sample, 1, 20)  # warm-up
        results["latency_1_client"] = latency(url, sample, 1, args.requests)
        results["latency_8_clients"] = latency(url, sample, 8, args.requests)
        results["latency_1_client_short"] = latency(url, short, 1, args.requests)
        results["latency_8_clients_short"] = latency(url, short, 8, args.requests)
        results["mean_chars_short"] = round(statistics.mean(len(t["body"]) for t in short))
        results["batch_tickets_per_s"] = round(batch_throughput(url, sample), 1)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    results["embedder_sentences_per_s"] = round(raw_embedder_throughput(sample, env), 1)
    results["batch_to_embedder_ratio"] = round(results["batch_tickets_per_s"] / results["embedder_sentences_per_s"], 3)
    results["mean_chars_per_ticket"] = round(statistics.mean(len(t["subject"]) + len(t["body"]) for t in sample))
    print(json.dumps(results, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
