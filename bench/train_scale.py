"""Training time and peak memory of `triage train` with the default settings, at 400 and 5,000 tickets.

Each run is the CLI a team runs (`python -m training.cli train`, cold embedding cache, MLflow to a scratch
store), in its own process; wall time and that process's peak RSS (`os.wait4`) are recorded, with what
the bundle's manifest says ran (label tuning, duplicate ranking, KB tuning). Data, all real
(../shared/datasets):

- `labels`: tickets-multilang, targets queue / priority / type (label tuning on by default);
- `duplicates`: Hadoop issues in created order with `duplicate_of` among them, target Priority (all 2,503
  is the most this export has);
- `kb`: the 400 RUTUBE cases with `kb_article`, `--kb-source knowledge_base.csv` (400 is all it has).

    python bench/train_scale.py --out bench/results/train_scale.json
    python bench/train_scale.py --only labels-400 --out /tmp/train_scale_labels400.json
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _common import require_datasets, shared_datasets  # type: ignore[import-not-found]  # noqa: E402

from triage import load_tickets  # noqa: E402

SHARED = shared_datasets()


def labels_data(rows: int, work: Path) -> list[str]:
    df = load_tickets(sorted(glob.glob(str(SHARED / "tickets-multilang" / "*.csv")))).head(rows)
    df[["subject", "body", "queue", "priority", "type"]].to_csv(work / "train.csv", index=False)
    return ["--data", str(work / "train.csv"), "--target", "queue", "--target", "priority", "--target", "type"]


def duplicates_data(rows: int, work: Path) -> list[str]:
    raw = pd.read_csv(SHARED / "hadoop-duplicates" / "hadoop_bugs.csv", dtype=str).fillna("")
    raw["created_at"] = pd.to_datetime(raw["Created"], format="%d/%b/%y %H:%M")
    df = raw.sort_values("created_at").head(rows)
    created = dict(zip(df["Issue id"], df["created_at"], strict=True))
    pairs = pd.read_csv(SHARED / "hadoop-duplicates" / "hadoop_bugs-combined.csv", dtype=str)
    earlier: dict[str, str] = {}
    for a, bs in zip(pairs["Issue id"], pairs["Duplicate id"], strict=True):
        for b in (x.strip() for x in str(bs).split(",")):
            for q, t in ((a, b), (b, a)):
                if q in created and t in created and created[t] < created[q]:
                    earlier.setdefault(q, t)
    out = pd.DataFrame({"id": df["Issue id"], "subject": df["Summary"], "body": df["Description"],
                        "created_at": df["created_at"].dt.strftime("%Y-%m-%dT%H:%M:%S"),
                        "priority": df["Priority"], "duplicate_of": df["Issue id"].map(earlier).fillna("")})
    out.to_csv(work / "train.csv", index=False)
    return ["--data", str(work / "train.csv"), "--target", "priority"]


def kb_data(rows: int, work: Path) -> list[str]:
    kb = pd.read_csv(SHARED / "rutube-support-ru" / "knowledge_base.csv").fillna("")
    cases = pd.read_csv(SHARED / "rutube-support-ru" / "cases.csv").fillna("").head(rows)
    first = {t: f"kb-{i}" for i, t in reversed(list(enumerate(kb["Вопрос из БЗ"])))}
    pd.DataFrame({"id": [f"kb-{i}" for i in range(len(kb))], "title": kb["Вопрос из БЗ"], "body": kb["Ответ из БЗ"],
                  "category": kb["Классификатор 1 уровня"]}).to_csv(work / "kb.csv", index=False)
    pd.DataFrame({"body": cases["Вопрос пользователя"], "category": cases["Классификатор 1 уровня"],
                  "kb_article": cases["Вопрос из БЗ"].map(first)}).to_csv(work / "train.csv", index=False)
    return ["--data", str(work / "train.csv"), "--target", "category", "--kb-source", str(work / "kb.csv")]


RUNS: dict[str, tuple[Callable[[int, Path], list[str]], int, str]] = {
    "labels-400": (labels_data, 400, "tickets-multilang"), "labels-5000": (labels_data, 5000, "tickets-multilang"),
    "duplicates-400": (duplicates_data, 400, "hadoop-duplicates"),
    "duplicates-all": (duplicates_data, 5000, "hadoop-duplicates"),  # the export holds 2,503 issues
    "kb-400": (kb_data, 400, "rutube-support-ru")}


def run(name: str) -> dict[str, Any]:
    make, rows, dataset = RUNS[name]
    require_datasets(dataset)
    with tempfile.TemporaryDirectory(prefix=f"triage-train-scale-{name}-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "TRIAGE_CACHE_DIR": str(work / "cache"), "TRIAGE_HOME": str(work / "home"),
               "MLFLOW_TRACKING_URI": f"sqlite:///{work}/mlflow.db"}
        cmd = [sys.executable, "-m", "training.cli", "train", *make(rows, work), "--out", str(work / "model")]
        rows = len(pd.read_csv(work / "train.csv"))  # fewer when the data has fewer
        started = time.perf_counter()
        with open(work / "log", "w") as log:
            proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log)
            _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        if status != 0:
            raise SystemExit(f"{name}: train failed ({status}):\n{(work / 'log').read_text()[-3000:]}")
        manifest = json.loads((work / "model" / "manifest.json").read_text())
        against = baseline(work / "train.csv", manifest)
    return {"run": name, "tickets": rows, "seconds": round(seconds, 1), "minutes": round(seconds / 60, 1),
            "peak_rss_mb": round(usage.ru_maxrss / 1024), "load_after": os.getloadavg()[0],
            "against_baseline": against, "ran": _what_ran(manifest)}


def baseline(data: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """TF-IDF word+char + balanced logistic regression on the very split `triage train` held out, per label
    head: the bundle's held-out macro-F1 against it (the baseline of BENCHMARKS' classification table)."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    from training.pipeline import labelled, split

    df = load_tickets([data])
    targets = manifest["options"]["targets"]
    train, test, kind = split(df, manifest["data"]["test_size"], targets[0] if targets else None,
                              manifest["options"]["seed"])
    text = df["text"].astype(str).to_numpy()
    word, char = TfidfVectorizer(sublinear_tf=True), TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5),
                                                                     sublinear_tf=True)
    x_train = hstack([word.fit_transform(text[train]), char.fit_transform(text[train])]).tocsr()
    x_test = hstack([word.transform(text[test]), char.transform(text[test])]).tocsr()
    out: dict[str, Any] = {"split": kind}
    for target in targets:
        tr, te = train[labelled(df.iloc[train], target).to_numpy()], test[labelled(df.iloc[test], target).to_numpy()]
        y = df[target].astype(str).str.strip().to_numpy()
        lr = LogisticRegression(max_iter=2000, class_weight="balanced").fit(x_train[np.searchsorted(train, tr)], y[tr])
        base = f1_score(y[te], lr.predict(x_test[np.searchsorted(test, te)]), average="macro")
        ours = manifest["metrics"].get(target, {})
        out[target] = {"baseline_macro_f1": round(float(base), 4), "bundle_macro_f1": ours.get("macro_f1"),
                       "bundle_answered": ours.get("threshold_coverage"),
                       "bundle_precision": ours.get("threshold_precision"), "n_test": len(te)}
    return out


def _what_ran(manifest: dict[str, Any]) -> dict[str, Any]:
    """The parts of the manifest that say which learning steps ran and for how long."""
    keep = ("label_embedder", "retrieval_embedder", "links", "history", "data")
    return {k: manifest[k] for k in keep if k in manifest}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", action="append", choices=sorted(RUNS), help="run only these (repeatable)")
    ap.add_argument("--out", type=Path, default=Path("bench/results/train_scale.json"))
    args = ap.parse_args()
    results: list[dict[str, Any]] = []
    for name in args.only or list(RUNS):
        results.append(run(name))
        print(json.dumps(results[-1], ensure_ascii=False)[:400], flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"cores": os.cpu_count(), "command": "python bench/train_scale.py",
                                        "runs": results}, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
