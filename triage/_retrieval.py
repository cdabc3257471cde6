"""KB suggestions learned from the team's ticket → article links: a re-ranker, its calibrated score, its floor.

Where it is learned: only where a bundle (tickets naming their `kb_article`) meets a KB index (the
article texts) — `kb build --model`, and lazily `predict` / `evaluate` / `serve` — so it is on by
default whenever the data allows it. The fit takes seconds; it is cached under a key made of the
bundle version, its links file and the index version (`triage._ranker_cache`).

What it learns: each candidate the index found (dense and BM25 scores of title and best section, the
fused score and its gap to the best) plus what the history says — how strongly the nearest past
tickets voted for that article, how close the nearest ticket it answered is, how often it answered,
and whether its category is the neighbours' — is scored by a model chosen on held-out tickets
(grouped cross-validation): the fused score alone (a calibration of the untuned ranking), logistic
regression, or gradient boosting, whichever ranks the gold article best out of fold. Its probability
is Platt-calibrated on those out-of-fold scores, so articles and past answers share one scale, and
the floor is the lowest probability at which shown suggestions were right at least `FLOOR_PRECISION`
of the time out of fold. The learner and the rule that chooses it are shared with the duplicate ranking
(`triage._ranking`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from kb_index import SIGNALS, Candidates, KBIndex
from triage._links import LinkedTickets
from triage._ranking import Training, calibrated, choose

NEIGHBOURS = 20  # past tickets that vote for an article
TEMPERATURE = 0.02  # softmax temperature of their votes (cosine units)
MIN_LINKED = 30  # fewer tickets naming an article in the index: no re-ranker (behaviour unchanged)
MAX_QUERIES = 1500  # the most recent linked tickets used as training queries (bounds the fit)
FLOOR_PRECISION = 0.3  # the least likely suggestion shown is still right this often on held-out links
SHOWN = 3  # suggestions per ticket the floor is chosen for (TRIAGE_KB_TOP_K's default)
FEATURES = (*SIGNALS, "vote", "nearest_link", "log_links", "category_vote", "nearest_ticket")


@dataclass
class KBRanker:
    """A fitted re-ranker for one (bundle, KB index) pair; `kb_index.Reranker` on the index."""

    vectors: np.ndarray  # linked training tickets
    articles: np.ndarray  # the article each one names
    answer_article: dict[str, str]  # "ticket:<id>" (a past-answer source) -> that ticket's article
    category: dict[str, str]  # article -> its category in the index
    model_name: str
    model: Any
    calibration: LogisticRegression
    floor: float
    report: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._links = {a: int(n) for a, n in zip(*np.unique(self.articles.astype(str), return_counts=True),
                                                  strict=True)}

    def neighbours(self, vector: np.ndarray, exclude: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(indices, softmax weights) of the nearest linked tickets; `exclude` leaves one out (training)."""
        sims = self.vectors @ np.asarray(vector, np.float32)
        if exclude is not None:
            sims[exclude] = -np.inf
        top = np.argsort(-sims)[:NEIGHBOURS]
        top = top[np.isfinite(sims[top])]
        if not len(top):
            return top, np.zeros(0)
        w = np.exp((sims[top] - sims[top].max()) / TEMPERATURE)
        return top, w / w.sum()

    def propose(self, vector: np.ndarray, exclude: int | None = None) -> list[str]:
        top, _ = self.neighbours(vector, exclude)
        return list(dict.fromkeys(str(a) for a in self.articles[top]))

    def features(self, vector: np.ndarray, cands: Candidates, exclude: int | None = None) -> np.ndarray:
        top, w = self.neighbours(vector, exclude)
        vote: dict[str, float] = {}
        cat_vote: dict[str, float] = {}
        for i, weight in zip(top, w, strict=True):
            art = str(self.articles[i])
            vote[art] = vote.get(art, 0.0) + weight
            cat = self.category.get(art, "")
            cat_vote[cat] = cat_vote.get(cat, 0.0) + weight
        sims = self.vectors @ np.asarray(vector, np.float32)
        if exclude is not None:
            sims[exclude] = -np.inf
        best = float(sims.max()) if len(sims) else 0.0
        nearest = self._nearest(sims)
        own = str(self.articles[exclude]) if exclude is not None else None  # a left-out ticket's own link
        out = np.zeros((len(cands), len(FEATURES)))
        out[:, :len(SIGNALS)] = cands.signals
        for j, (art_id, source, cat) in enumerate(zip(cands.article_ids, cands.sources, cands.categories,
                                                      strict=True)):
            art = self.answer_article.get(art_id, "") if source == "answer" else art_id
            out[j, len(SIGNALS):] = (vote.get(art, 0.0), nearest.get(art, best - 1.0) - best,
                                     np.log1p(self._links.get(art, 0) - (art == own)),
                                     cat_vote.get(cat, 0.0) if cat else 0.0, best)
        return out

    def _nearest(self, sims: np.ndarray) -> dict[str, float]:
        """Per article, the cosine of the closest linked ticket that named it (top 200 tickets looked at)."""
        top = np.argsort(-sims)[:200]
        out: dict[str, float] = {}
        for i in top:
            if np.isfinite(sims[i]):
                out.setdefault(str(self.articles[i]), float(sims[i]))
        return out

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return calibrated(self.model_name, self.model, self.calibration, x)

    def rescore(self, vector: np.ndarray, text: str, candidates: Candidates) -> np.ndarray:
        if not len(candidates):
            return np.zeros(0)
        return self.probabilities(self.features(vector, candidates))


def fit_kb_ranker(index: KBIndex, linked: LinkedTickets, *, progress: bool = False) -> KBRanker | None:
    """Learn to rank the index's articles from tickets that name them; None when too few do."""
    started = time.perf_counter()
    in_index = set(index.chunks["article_id"].astype(str))
    keep = np.flatnonzero([str(a) in in_index for a in linked.links])[-MAX_QUERIES:]
    if len(keep) < MIN_LINKED:
        return None
    vectors, articles = linked.vectors[keep], linked.links[keep].astype(str)
    texts, ids = [linked.texts[i] for i in keep], [linked.ids[i] for i in keep]
    chunks = index.chunks.drop_duplicates("article_id")
    category = dict(zip(chunks["article_id"].astype(str), chunks.get("category", "").astype(str), strict=True))
    answer_article = {f"ticket:{t}": str(a) for t, a in zip(ids, articles, strict=True)}
    base = KBRanker(vectors, articles, answer_article, category, "fused", None, LogisticRegression(), 0.0)
    title = dict(zip(chunks["article_id"].astype(str), chunks["title"].astype(str).str.strip(), strict=True))
    data = _training_rows(index, base, texts, ids, title, progress)
    choice = choose(data)
    floor, precision, shown = _floor(choice.calibrated, data)
    report = {"queries": data.queries, "candidates": len(data.y), "model": choice.name, "held_out": choice.quality,
              "floor": round(floor, 4), "floor_precision": round(precision, 4), "floor_shown": round(shown, 4),
              "seconds": round(time.perf_counter() - started, 1)}
    return KBRanker(vectors, articles, answer_article, category, choice.name, choice.model, choice.calibration, floor,
                    report)


def _training_rows(index: KBIndex, base: KBRanker, texts: Sequence[str], ids: Sequence[str],
                   title: dict[str, str], progress: bool) -> Training:
    """Candidates of every linked ticket, each ticket left out of its own neighbours and answers.

    An article with the very title of the gold one counts as right too: a KB that repeats a question
    under two ids answers it twice, and learning to tell the twins apart would be learning noise.
    """
    from tqdm.auto import tqdm

    xs, ys, groups = [], [], []
    n = len(texts)
    for start in tqdm(range(0, n, 64), desc="learning KB ranking", unit="batch", disable=not progress):
        batch = range(start, min(n, start + 64))
        proposed = [base.propose(base.vectors[i], exclude=i) for i in batch]
        found = index.search_candidates(base.vectors[list(batch)], [texts[i] for i in batch], proposed=proposed)
        for i, cands in zip(batch, found, strict=True):
            own = f"ticket:{ids[i]}"
            x = base.features(base.vectors[i], cands, exclude=i)
            gold = base.articles[i]
            same = title.get(str(gold))
            y = np.asarray([a == gold or base.answer_article.get(a) == gold or (bool(same) and title.get(a) == same)
                            for a in cands.article_ids])
            mine = np.asarray([a != own for a in cands.article_ids], bool)  # never its own past answer
            xs.append(x[mine])
            ys.append(y[mine])
            groups.append(np.full(int(mine.sum()), i))
            # the same ticket as if the KB had no article for it: what "nothing here answers" looks like,
            # so the probability is not conditional on an answer existing (an off-topic ticket scores low)
            absent = mine & ~y
            if absent.any():
                xs.append(_renormalised(x[absent]))
                ys.append(np.zeros(int(absent.sum()), bool))
                groups.append(np.full(int(absent.sum()), i + n))
    return Training(np.concatenate(xs), np.concatenate(ys).astype(int), np.concatenate(groups), n)


def _renormalised(x: np.ndarray) -> np.ndarray:
    """Candidate signals recomputed for the list without its answer: gap and rank against the new best."""
    out = x.copy()
    order = np.argsort(-out[:, 0], kind="stable")
    out[:, 1] = out[:, 0].max() - out[:, 0]
    out[order, 2] = np.log1p(np.arange(len(order)))
    return out


def _floor(p: np.ndarray, data: Training) -> tuple[float, float, float]:
    """(floor, precision of the suggestions shown above it, share of real tickets that still get one).

    The floor is the lowest probability at which a suggestion — judged among the first `SHOWN` of each
    held-out ticket, no-answer copies included — is right at least `FLOOR_PRECISION` of the time
    (isotonic fit of right/wrong on the probability, so it is the precision *at* the floor, not the
    average above it, which many sure hits would hold up while noise slips in).
    """
    from sklearn.isotonic import IsotonicRegression

    top_p, top_y, top_q = [], [], []
    for g in np.unique(data.group):
        rows = np.flatnonzero(data.group == g)
        top = rows[np.argsort(-p[rows], kind="stable")[:SHOWN]]
        top_p.append(p[top])
        top_y.append(data.y[top])
        top_q.append(np.full(len(top), g))
    sp, sy, sq = np.concatenate(top_p), np.concatenate(top_y).astype(float), np.concatenate(top_q)
    local = IsotonicRegression(out_of_bounds="clip").fit(sp, sy).predict(sp)
    ok = local >= FLOOR_PRECISION
    floor = float(sp[ok].min()) if ok.any() else 1.0  # never reached: nothing is worth showing
    above = sp >= floor
    real = above & (sq < data.queries)
    prec = float(sy[above].mean()) if above.any() else 0.0
    return floor, prec, float(len(np.unique(sq[real])) / max(data.queries, 1))
