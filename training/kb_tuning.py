"""Retrieval learned from ticket -> article links: contrastive tuning of the embedder for the KB.

When the training tickets name their `kb_article` and `triage train` is given the articles
(`--kb-source`), the embedder is tuned so that a ticket lands next to the article that answered it:
each batch holds (ticket, its article, a BM25-mined wrong article that shares its words) triples,
and every ticket must pick its own article among all the batch's articles (in-batch negatives plus
the hard ones; the loss of sentence-transformers' MultipleNegativesRankingLoss, written out so a
batch never counts two tickets of the same article against each other). The word-embedding matrix
stays frozen, as in `training.finetune`: CPU-sized, and the vocabulary the links never show is kept.

It ships only when it measures better: the links are split at random (`JUDGE_SHARE` held out), the
tuning sees the rest, and the tuned and the shared embedder each rank every article for the held-out
tickets (dense cosine); the tuned one must gain `MARGIN` MRR. Then it is tuned again on all the links
(within what is left of TRIAGE_KB_TUNING_BUDGET) and shipped as `retrieval_embedder/` (ONNX); `kb build
--model` embeds the KB with it and serving embeds KB queries with it. Labels, similar tickets and
problems keep the shared embedder.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console

from kb_index import Article
from kb_index._lexical import BM25, TermCounts
from training.finetune import TuningRun, train_batches, tunable_model
from training.label_tuning import tunable
from triage._embedding import E5_PREFIXES, Embedder
from triage.settings import Settings

console = Console(stderr=True)

RETRIEVAL_EMBEDDER = "retrieval_embedder"  # the bundle folder of the tuned model
MIN_LINKED = 40  # tickets naming an article of the given KB before tuning is tried
JUDGE_SHARE = 0.2  # of the links, held out to judge the tuning
JUDGE_BUDGET_SHARE = 0.6  # of TRIAGE_KB_TUNING_BUDGET, the most the judging epochs may use
MARGIN = 0.01  # held-out MRR the tuned embedder must gain over the shared one
SCALE = 20.0  # cosine -> logit (MultipleNegativesRankingLoss' default)
HARD_FROM = 10  # hard negatives are drawn from the BM25 top this many (the gold one and its twins excluded)


@dataclass(frozen=True)
class Triple:
    query: str
    positive: str
    negative: str
    gold: str  # article id of the positive
    hard: str  # article id of the negative


def article_passage(article: Article) -> str:
    """The text an article is tuned as (its title, then its body; the window cuts the rest)."""
    return f"{article.title}\n{article.body}".strip()


def mine_triples(queries: Sequence[str], gold: Sequence[str], articles: Sequence[Article],
                 seed: int) -> list[Triple]:
    """One triple per linked ticket: its article, and a wrong article BM25 ranks high for it (a hard negative).

    Articles with the very title of the gold one are never its negatives: a KB that repeats a question
    under two ids answers it twice.
    """
    rng = random.Random(seed)
    texts = [article_passage(a) for a in articles]
    ids = [a.id for a in articles]
    by_id = dict(zip(ids, texts, strict=True))
    title = {a.id: a.title.strip() for a in articles}
    bm25 = BM25(TermCounts().rebuilt(np.zeros(0, np.int64), texts))
    out = []
    for q, g in zip(queries, gold, strict=True):
        scores = bm25.scores(q)
        order = np.argsort(-scores, kind="stable")
        wrong = [ids[j] for j in order[:HARD_FROM * 3]
                 if scores[j] > 0 and ids[j] != g and title[ids[j]] != title[g]][:HARD_FROM]
        neg = rng.choice(wrong) if wrong else rng.choice([i for i in ids if title[i] != title[g]] or ids)
        out.append(Triple(q, by_id[g], by_id[neg], g, neg))
    rng.shuffle(out)
    return out


def contrastive_tune(folder: Path, triples: Sequence[Triple], out: Path, *, max_tokens: int = 128,
                     batch_size: int = 16, lr: float = 3e-5, epochs: int = 1, seed: int = 0,
                     time_budget: float | None = None) -> TuningRun:
    """Tune the sentence-transformers model in `folder` on `triples`; save it to `out` (within `time_budget` s)."""
    started = time.perf_counter()
    model = tunable_model(folder, max_tokens, seed)
    transformer: Any = model[0].auto_model
    # activations of 3 x batch texts at up to 256 tokens took ~10 GB; recomputing them layer by layer in the
    # backward pass keeps the tuning at ~2 GB for ~30% more time
    if hasattr(transformer, "activation_checkpointing_enable"):  # newer transformers; the old name warns
        transformer.activation_checkpointing_enable({"use_reentrant": False})
    else:
        transformer.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    batches = [list(triples[s:s + batch_size]) for _ in range(epochs) for s in range(0, len(triples), batch_size)]
    done, stopped = train_batches(model, batches, lambda batch: _batch_loss(model, batch), out, lr=lr,
                                  started=started, time_budget=time_budget, desc="tuning for the KB",
                                  min_batch=2)
    return TuningRun(len(triples), len(triples) * epochs, done, round(time.perf_counter() - started, 1), stopped)


def _batch_loss(model: Any, batch: list[Triple]) -> Any:
    """Cross-entropy of each ticket's own article among the batch's positives and hard negatives."""
    import torch

    q = _embed(model, [E5_PREFIXES["query"] + t.query for t in batch])
    d = _embed(model, [E5_PREFIXES["passage"] + t.positive for t in batch]
               + [E5_PREFIXES["passage"] + t.negative for t in batch])
    scores = SCALE * q @ d.T
    columns = [t.gold for t in batch] + [t.hard for t in batch]
    same = torch.tensor([[c == t.gold for c in columns] for t in batch])
    same[torch.arange(len(batch)), torch.arange(len(batch))] = False  # its own positive stays the target
    scores = scores.masked_fill(same, float("-inf"))  # another ticket's copy of my article is no negative
    return torch.nn.functional.cross_entropy(scores, torch.arange(len(batch)))


def _embed(model: Any, texts: list[str]) -> Any:
    import torch

    return torch.nn.functional.normalize(model(model.preprocess(texts))["sentence_embedding"], dim=-1)


def dense_ranking(query_vecs: np.ndarray, article_vecs: np.ndarray, gold: Sequence[str],
                  articles: Sequence[Article]) -> dict[str, float]:
    """Recall@1/@5 and MRR of the gold article (or a same-titled twin) among all articles, by cosine."""
    titles = np.asarray([a.title.strip() for a in articles], dtype=object)
    title_of = {a.id: a.title.strip() for a in articles}
    r1 = r5 = mrr = 0.0
    for row, g in zip(query_vecs @ article_vecs.T, gold, strict=True):
        order = titles[np.argsort(-row, kind="stable")]
        distinct = list(dict.fromkeys(order))
        rank = distinct.index(title_of[g]) + 1
        r1, r5, mrr = r1 + (rank == 1), r5 + (rank <= 5), mrr + 1 / rank
    n = max(len(gold), 1)
    return {"recall_at_1": round(r1 / n, 4), "recall_at_5": round(r5 / n, 4), "mrr": round(mrr / n, 4)}


@dataclass
class RetrievalTuning:
    """A tuned retrieval embedder, where it lives until the bundle is written, and what it measured."""

    embedder: Embedder
    folder: Path
    run: TuningRun
    judged: dict[str, Any]

    def manifest(self) -> dict[str, Any]:
        return {"used": True, "folder": RETRIEVAL_EMBEDDER, "id": self.embedder.model_id, "dim": self.embedder.dim,
                "max_tokens": self.embedder.max_tokens, "run": asdict(self.run), "held_out": self.judged}


def tuned_id(base_id: str, triples: Sequence[Triple]) -> str:
    digest = hashlib.sha256()
    for t in sorted(triples, key=lambda t: (t.gold, t.query)):
        digest.update(f"{t.gold}\x1f{t.query}\x1e".encode())
    return f"{base_id}+kb-{digest.hexdigest()[:10]}"


def linked_pairs(df: pd.DataFrame, articles: Sequence[Article]) -> tuple[list[str], list[str]]:
    """(ticket texts, article ids) of the tickets naming an article of `articles`."""
    if "kb_article" not in df.columns:
        return [], []
    known = {a.id for a in articles}
    names = df["kb_article"].astype("string").str.strip().fillna("")
    rows = [i for i, a in enumerate(names) if a and a in known]
    return [str(df["text"].iloc[i]) for i in rows], [str(names.iloc[i]) for i in rows]


@dataclass
class Judged:
    """What the judging pass found: whether tuning helps, after how many epochs, and that epoch's model."""

    better: bool
    epochs: int
    folder: Path | None  # the best epoch's model, trained on the judging share only
    facts: dict[str, Any]
    runs: list[TuningRun]  # the epochs kept
    spent: float  # all of the judging, scoring included

    @property
    def train_seconds(self) -> float:
        """Tuning time of the epochs kept (not the scoring)."""
        return sum(r.seconds for r in self.runs)


def judge(base: Embedder, source: Path, queries: list[str], gold: list[str], articles: Sequence[Article],
          settings: Settings, seed: int, work: Path) -> Judged:
    """Tune epoch by epoch on most of the links, ranking every article for the held-out rest after each.

    The best epoch is kept (tuning stops at the first epoch that does not improve, or when
    `JUDGE_BUDGET_SHARE` of the budget is gone): the held-out links choose how long to tune, not a guess."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(queries))
    n_judge = max(10, round(JUDGE_SHARE * len(queries)))
    held, seen = np.sort(order[:n_judge]), np.sort(order[n_judge:])
    started = time.perf_counter()
    passages = [article_passage(a) for a in articles]
    held_q, held_g = [queries[i] for i in held], [gold[i] for i in held]
    shared = dense_ranking(base.encode(held_q, kind="query"), base.encode(passages, kind="passage"), held_g, articles)
    facts: dict[str, Any] = {"judged_on": len(held), "tuned_on": len(seen), "shared": shared, "epochs": []}
    best: tuple[int, dict[str, float], Path] | None = None
    current, runs = source, list[TuningRun]()
    for epoch in range(1, settings.kb_tuning_epochs + 1):
        budget_left = settings.kb_tuning_budget * JUDGE_BUDGET_SHARE - (time.perf_counter() - started)
        if epoch > 1 and budget_left < sum(r.seconds for r in runs) / (epoch - 1):
            break  # another epoch would not fit
        triples = mine_triples([queries[i] for i in seen], [gold[i] for i in seen], articles, seed + epoch - 1)
        out = work / f"epoch-{epoch}"
        run = contrastive_tune(current, triples, out, max_tokens=settings.kb_tuning_tokens,
                               batch_size=settings.kb_tuning_batch, seed=seed + epoch - 1,
                               time_budget=max(budget_left, 1.0))
        runs.append(run)
        scored = dense_ranking(*_encode_with(out, base, held_q, passages), held_g, articles)
        facts["epochs"].append({"epoch": epoch, **scored, "run": asdict(run)})
        if best is not None and scored["mrr"] <= best[1]["mrr"]:
            break  # the held-out links stopped improving
        best, current = (epoch, scored, out), out
        if run.stopped_by_budget:
            break
    assert best is not None
    facts["tuned"], facts["best_epoch"] = best[1], best[0]
    return Judged(best[1]["mrr"] >= shared["mrr"] + MARGIN, best[0], best[2], facts, runs[:best[0]],
                  time.perf_counter() - started)


def _encode_with(folder: Path, base: Embedder, queries: list[str], passages: list[str]) -> tuple[Any, Any]:
    from triage._embedding import SentenceTransformerEmbedder

    tuned = SentenceTransformerEmbedder(str(folder), model_id="judged", prefixes=E5_PREFIXES,
                                        max_tokens=base.max_tokens)
    return tuned.encode(queries, kind="query"), tuned.encode(passages, kind="passage")


def tune_for_retrieval(base: Embedder, df: pd.DataFrame, articles: Sequence[Article], settings: Settings,
                       seed: int = 0) -> tuple[RetrievalTuning | None, dict[str, Any]]:
    """`triage train`'s step: tune when the rule allows and keep it only when it measured better.

    Returns the tuning (None when skipped or not better) and what the manifest records."""
    queries, gold = linked_pairs(df, articles)
    skip = _skip_reason(base, len(queries), settings)
    if skip:
        console.print(skip)
        return None, {"used": False, "reason": skip}
    console.print(f"[bold]KB tuning:[/] {len(queries)} tickets name an article of the {len(articles)} given")
    source = Path(str(getattr(base, "source", "")))
    with tempfile.TemporaryDirectory(prefix="triage-kb-judge-") as work:
        if settings.kb_tuning == "on":  # asked for: no judging, all the budget for the tuning that ships
            judged = Judged(True, settings.kb_tuning_epochs, None,
                            {"judged_on": 0, "reason": "TRIAGE_KB_TUNING=on: shipped unjudged"}, [], 0.0)
        else:
            judged = judge(base, source, queries, gold, articles, settings, seed, Path(work))
        if not judged.better:
            reason = (f"KB tuning not used: held-out MRR {judged.facts['tuned']['mrr']:.3f} tuned vs "
                      f"{judged.facts['shared']['mrr']:.3f} shared (needs +{MARGIN})")
            console.print(reason)
            return None, {"used": False, "reason": reason, "held_out": judged.facts}
        triples = mine_triples(queries, gold, articles, seed)
        folder = Path(tempfile.mkdtemp(prefix="triage-retrieval-embedder-"))
        run, judged.facts["final"] = _final_run(judged, folder, source, triples, settings, seed, len(queries))
    return _ship(base, folder, triples, run, judged.facts)


def _final_run(judged: Judged, out: Path, source: Path, triples: list[Triple], settings: Settings, seed: int,
               linked: int) -> tuple[TuningRun, str]:
    """Retrain on all the links for the judged epochs when the rest of the budget fits it at the judged
    pace; otherwise ship the judged model itself (measured, if on fewer links) rather than a cut-short one."""
    remaining = settings.kb_tuning_budget - judged.spent
    needed = judged.train_seconds * linked / max(judged.facts.get("tuned_on", linked), 1)
    if judged.folder is not None and remaining < needed * 1.1:
        shutil.copytree(judged.folder, out, dirs_exist_ok=True)
        kept = judged.runs
        return TuningRun(kept[0].texts, sum(r.pairs_planned for r in kept), sum(r.pairs_done for r in kept),
                         round(judged.train_seconds, 1), kept[-1].stopped_by_budget), (
            f"judged model shipped (epoch {judged.epochs}; retraining on all links needs ~{needed:.0f} s, "
            f"{remaining:.0f} s of the budget left)")
    run = contrastive_tune(source, triples, out, max_tokens=settings.kb_tuning_tokens,
                           batch_size=settings.kb_tuning_batch, epochs=judged.epochs, seed=seed,
                           time_budget=max(remaining, 1.0))
    return run, f"retrained on all {linked} links for {judged.epochs} epoch(s)"


def _ship(base: Embedder, folder: Path, triples: list[Triple], run: TuningRun,
          facts: dict[str, Any]) -> tuple[RetrievalTuning, dict[str, Any]]:
    """Export the chosen model to ONNX, drop the weights ONNX replaces, and say what measured."""
    from training.label_tuning import tuned_embedder
    from triage._onnx import export_onnx

    export_onnx(folder)
    for heavy in ("model.safetensors", "pytorch_model.bin"):  # ONNX serves it; the bundle keeps the graph only
        (folder / heavy).unlink(missing_ok=True)
    tuning = RetrievalTuning(tuned_embedder(folder, tuned_id(base.model_id, triples), base.max_tokens), folder,
                             run, facts)
    if "tuned" in facts:
        console.print(f"[green]KB tuning used:[/] held-out MRR {facts['tuned']['mrr']:.3f} vs "
                      f"{facts['shared']['mrr']:.3f}, recall@5 {facts['tuned']['recall_at_5']:.3f} vs "
                      f"{facts['shared']['recall_at_5']:.3f} (epoch {facts['best_epoch']}; {facts['final']})")
    return tuning, tuning.manifest()


def _skip_reason(base: Embedder, linked: int, settings: Settings) -> str | None:
    if settings.kb_tuning == "off":
        return "KB tuning off (TRIAGE_KB_TUNING=off)"
    least = 2 if settings.kb_tuning == "on" else MIN_LINKED
    if linked < least:
        return f"KB tuning skipped: {linked} tickets name an article of the given KB (needs {least}+)"
    if not tunable(base):
        return f"KB tuning skipped: {base.model_id} is not a local sentence-transformers model"
    return None


def discard(tuning: RetrievalTuning | None) -> None:
    if tuning is not None:
        shutil.rmtree(tuning.folder, ignore_errors=True)
