"""`recurring.similar` learned from `duplicate_of` (issue 18 part 2) on a small synthetic history.

Real parts (a real `TicketHistory`: SQLite + FAISS + BM25; the real training seed and `open_recurring`),
synthetic tickets built so the untuned fused search is wrong in a way the links can teach: each duplicate
names the same identifier as its original (a config key, an issue key), while a look-alike posted in
between is nearer by meaning and shares more words. Seconds, no embedder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from training.recurring import build_history_seed
from triage._duplicates import CANDIDATES, FILE, Query, fit_duplicate_ranker, gold_pairs
from triage._history import HistoryRecord, TicketHistory
from triage._recurring import open_recurring
from triage.results import Prediction

DIM = 32
TRAIN_GROUPS, TEST_GROUPS = 30, 12


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


def synthetic(groups: int, seed: int = 0) -> pd.DataFrame:
    """Per group, in time order: an original, a look-alike of the duplicate, the duplicate (linked to the
    original); plus unrelated tickets. Columns as training sees them, and a `vector` column."""
    rng = np.random.default_rng(seed)
    vocab = [f"w{k}x" for k in range(600)]
    rows: list[dict[str, object]] = []
    t = pd.Timestamp("2026-01-01", tz="UTC")
    for j in range(groups):
        key = f"acme.mod{j}.timeout" if j % 2 else f"PAY-{1000 + j}"
        topic, other = rng.choice(vocab, 8, replace=False), rng.choice(vocab, 8, replace=False)
        original = _unit(rng.normal(size=DIM))
        dup = _unit(0.72 * original + 0.7 * _unit(rng.normal(size=DIM)))
        look = _unit(0.97 * dup + 0.24 * _unit(rng.normal(size=DIM)))
        for k, (kind, words, vec) in enumerate((("A", other, original), ("D", topic, look), ("B", topic, dup))):
            text = " ".join(words) + (f" fails with {key}" if kind != "D" else " fails again")
            rows.append({"id": f"{kind}-{j}", "created_at": t + pd.Timedelta(hours=3 * j, minutes=10 * k),
                         "subject": " ".join(words[:3]), "text": text, "vector": vec,
                         "duplicate_of": f"A-{j}" if kind == "B" else ""})
        rows.append({"id": f"N-{j}", "created_at": t + pd.Timedelta(hours=3 * j + 1), "subject": "noise",
                     "text": " ".join(rng.choice(vocab, 10)), "vector": _unit(rng.normal(size=DIM)),
                     "duplicate_of": ""})
    return pd.DataFrame(rows)


def _record(row: pd.Series) -> HistoryRecord:
    return HistoryRecord(ticket_id=row["id"], created_at=row["created_at"].timestamp(), subject=row["subject"],
                         text=row["text"], embedding=row["vector"], source="train")


def test_ranker_learned_from_links_puts_the_linked_duplicate_first(tmp_path: Path) -> None:
    df = synthetic(TRAIN_GROUPS + TEST_GROUPS)
    train = df[df["id"].str.split("-").str[1].astype(int) < TRAIN_GROUPS]
    test = df.drop(train.index)
    history = TicketHistory(tmp_path / "history.sqlite", DIM)
    history.append([_record(r) for _, r in train.iterrows()])
    created = {r["id"]: r["created_at"].timestamp() for _, r in train.iterrows()}
    gold = gold_pairs(train["id"].tolist(), train["duplicate_of"].tolist(), created)
    assert len(gold) == TRAIN_GROUPS and gold["B-3"] == {"A-3"}
    ranker, report = fit_duplicate_ranker(history, gold)
    assert ranker is not None, report
    assert report["held_out"][report["model"]]["mrr"] >= report["held_out"]["fused"]["mrr"] + 0.02
    untrained, learned = [], []
    for _, row in test.iterrows():  # later tickets, in time order, each queried before it is appended
        if row["id"].startswith("B-"):
            at = row["created_at"].timestamp()
            fused = history.search(row["vector"], row["text"], before=at, exclude=row["id"], k=5)
            pool = history.candidates(row["vector"], row["text"], before=at, exclude=row["id"], n=CANDIDATES)
            ranked = ranker.rank(history, Query(row["vector"], row["subject"], row["text"], at), pool, 5)
            first = history.details([fused[0].row, ranked[0].row])
            untrained.append(first[fused[0].row]["ticket_id"] == row["duplicate_of"])
            learned.append(first[ranked[0].row]["ticket_id"] == row["duplicate_of"])
            assert all(0.0 <= m.score <= 1.0 for m in ranked)
            assert all(history.created[m.row] < at for m in ranked)  # strictly earlier, as today
        history.append([_record(row)])
    history.close()
    assert np.mean(untrained) <= 0.25, untrained  # the fused search prefers the look-alike
    assert np.mean(learned) >= 0.75, (learned, report)


def _bundle(tmp_path: Path, df: pd.DataFrame) -> tuple[Path, dict[str, object]]:
    """A bundle folder with what `open_recurring` reads: the seed and, when learned, the duplicate ranker."""
    bundle = tmp_path / "bundle"
    (bundle / "history").mkdir(parents=True)
    work = tmp_path / "work"
    work.mkdir()
    seed, summary = build_history_seed(df.drop(columns="vector"), np.stack(df["vector"].to_list()), "synthetic",
                                       work, [])
    seed.rename(bundle / "history" / "history.sqlite")
    manifest: dict[str, object] = {"model_version": "20260101-000000-abc1234", "embedder": {"id": "synthetic"}}
    if "duplicate_ranking" in summary:
        manifest["duplicates"] = summary["duplicate_ranking"]
        if (work / "duplicates.joblib").is_file():
            (bundle / FILE).parent.mkdir(parents=True)
            (work / "duplicates.joblib").rename(bundle / FILE)
    return bundle, manifest


def _similar(bundle: Path, manifest: dict[str, object], query: pd.Series) -> tuple[object, list[str]]:
    recurring = open_recurring(bundle, manifest, DIM, ephemeral=True)
    assert recurring is not None
    try:
        ticket = {"id": query["id"], "subject": query["subject"], "created_at": query["created_at"].isoformat()}
        out = recurring.observe([ticket], query["vector"][None, :], [query["text"]], [Prediction()], record=False)
        return recurring.ranker, [s["ticket_id"] for s in out[0]["similar"]]
    finally:
        recurring.close()


def test_bundle_without_duplicate_links_keeps_todays_ranking(tmp_path: Path) -> None:
    df = synthetic(TRAIN_GROUPS + 1)
    query = df[df["id"] == f"B-{TRAIN_GROUPS}"].iloc[0]
    history_df = df[df["created_at"] < query["created_at"]]
    unlinked = history_df.drop(columns="duplicate_of")
    bundle, manifest = _bundle(tmp_path / "plain", unlinked)
    assert "duplicates" not in manifest and not (bundle / FILE).exists()
    ranker, shown = _similar(bundle, manifest, query)
    history = TicketHistory(bundle / "history" / "history.sqlite", DIM)
    at = query["created_at"].timestamp()
    today = history.search(query["vector"], query["text"], before=at, exclude=query["id"], k=5)
    expected = [history.details([m.row])[m.row]["ticket_id"] for m in today]
    history.close()
    assert ranker is None and shown == expected  # exactly today's fused search

    linked_bundle, linked_manifest = _bundle(tmp_path / "linked", history_df)
    assert linked_manifest["duplicates"]["used"] is True  # type: ignore[index]
    ranker, shown = _similar(linked_bundle, linked_manifest, query)
    assert ranker is not None and shown[0] == query["duplicate_of"] and expected[0] != query["duplicate_of"]


def test_training_on_linked_demo_tickets_records_its_duplicate_ranking(trained_bundle) -> None:  # type: ignore[no-untyped-def]
    """`triage train` on the demo slice (which names `duplicate_of`) says in the manifest what it decided."""
    from triage._bundle import file_sha256

    info = trained_bundle.manifest["duplicates"]
    assert info["queries"] >= 20 and set(info["held_out"]) == {"fused", "linear", "boosted"}
    path = trained_bundle.bundle / FILE
    assert path.is_file() == bool(info["used"])
    if info["used"]:
        assert info["sha256"] == file_sha256(path)
        assert info["held_out"][info["model"]]["mrr"] >= info["held_out"]["fused"]["mrr"] + 0.02
