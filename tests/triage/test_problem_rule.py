"""Known problems: distinct titles, the linkage, and a threshold learned from the team's duplicate links."""

from __future__ import annotations

import numpy as np

from triage._problems import MIN_LINKS, fit_problems, link_threshold


def _two_outages(n: int = 8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.eye(16)[:2]
    vecs = np.vstack([centres[i // n] + rng.normal(scale=0.05, size=16) for i in range(2 * n)])
    return (vecs / np.linalg.norm(vecs, axis=1, keepdims=True)).astype(np.float32)


def test_two_problems_never_share_one_title() -> None:
    vecs = _two_outages()
    subjects = ["Не работает телефония"] * 16  # every ticket says the same
    subjects[12] = "Нет связи на городских номерах"
    problems, _ = fit_problems(vecs, subjects, [None] * 16, [None] * 16, list(range(16)), threshold=0.8)
    titles = [p.title for p in problems.problems]
    assert len(problems) == 2 and len(set(titles)) == 2
    assert "Нет связи на городских номерах" in titles  # the next-nearest distinct subject, not a number
    same = ["VPN"] * 16
    problems, _ = fit_problems(vecs, same, [None] * 16, [None] * 16, list(range(16)), threshold=0.8)
    assert len({p.title for p in problems.problems}) == 2  # nothing distinct left: numbered


def test_complete_linkage_splits_a_chain_that_average_linkage_keeps() -> None:
    # a chain a-b-c where a and c are far apart: average linkage at a loose bar joins all, complete does not
    angles = np.linspace(0, 1.2, 9)
    vecs = np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)
    args = ([f"t{i}" for i in range(9)], [None] * 9, [None] * 9, list(range(9)))
    avg, _ = fit_problems(vecs, *args, threshold=0.6, min_size=2, linkage="average")
    comp, _ = fit_problems(vecs, *args, threshold=0.6, min_size=2, linkage="complete")
    assert max(p.size for p in avg.problems) > max(p.size for p in comp.problems)


def test_link_threshold_reads_the_linked_pairs() -> None:
    vecs = _two_outages()
    assert link_threshold(vecs, [(0, 1)] * (MIN_LINKS - 1)) is None
    pairs = [(i, i + 1) for i in range(7)] + [(8 + i, 9 + i) for i in range(7)]
    t = link_threshold(vecs, pairs, percentile=10)
    sims = [float(vecs[a] @ vecs[b]) for a, b in pairs]
    assert t is not None and min(sims) <= t <= np.median(sims)
    assert t > float(vecs[0] @ vecs[8])  # well above two different outages


def test_linked_tickets_form_one_problem_however_they_are_worded() -> None:
    # an outage told five ways (far apart in the embedding) that the team linked with duplicate_of
    rng = np.random.default_rng(4)
    vecs = rng.normal(size=(12, 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    subjects = [f"s{i}" for i in range(12)]
    args = (subjects, [None] * 12, [None] * 12, list(range(12)))
    alone, assigned = fit_problems(vecs, *args, threshold=0.9)
    assert len(alone) == 0
    linked, assigned = fit_problems(vecs, *args, threshold=0.9, links=[(1, 0), (2, 0), (3, 1), (4, 0)])
    assert len(linked) == 1 and linked.problems[0].size == 5
    assert {assigned[i] for i in range(5)} == {1} and all(assigned[i] is None for i in range(5, 12))
