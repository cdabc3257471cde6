"""One typed result (triage/results.py): what `classify` returns, what the API declares, where heads' outputs go."""

from __future__ import annotations

import csv
import json
import types
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import pytest
from pydantic import BaseModel
from typing_extensions import TypedDict, is_typeddict

from api import schemas
from kb_index import KBHit, build_index, read_folder
from training.pipeline import TrainOptions, train
from triage import Settings, Triage, open_triage
from triage.heads.base import Head
from triage.results import CompletenessResult, EscalationResult, LabelResult, TicketResult

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "demo"
TICKETS = [
    {"id": "R-1", "created_at": "2031-01-05T09:00:00Z", "subject": "Не проходят входящие звонки",
     "body": "С утра на АТС ошибка SIP 503, телефоны в офисе молчат."},
    {"id": "R-2", "created_at": "2031-01-05T09:05:00Z", "subject": "Incoming calls fail",
     "body": "Since this morning the PBX answers SIP 503 and the office phones are silent."},
    {"id": "R-3", "created_at": "2031-01-05T09:10:00Z", "subject": "Printer prints blank pages",
     "body": "Steps: print any document on the 3rd floor printer. Expected: text. Actual: blank pages."},
]


class Mismatch(AssertionError):
    pass


def conform(value: Any, hint: Any, where: str = "result") -> None:
    """Raise `Mismatch` naming the path unless `value` is exactly of type `hint` (TypedDicts: no extra keys)."""
    origin = get_origin(hint)
    if hint is Any:
        return
    if is_typeddict(hint):
        if not isinstance(value, dict):
            raise Mismatch(f"{where}: {type(value).__name__}, not an object")
        fields = get_type_hints(hint)
        missing, extra = hint.__required_keys__ - value.keys(), value.keys() - fields.keys()
        if missing or extra:
            raise Mismatch(f"{where}: missing {sorted(missing)}, unexpected {sorted(extra)}")
        for key, item in value.items():
            conform(item, fields[key], f"{where}.{key}")
    elif origin in (Union, types.UnionType):
        errors = []
        for option in get_args(hint):
            try:
                return conform(value, option, where)
            except Mismatch as exc:
                errors.append(str(exc))
        raise Mismatch(" / ".join(errors))
    elif origin is Literal:
        if value not in get_args(hint):
            raise Mismatch(f"{where}: {value!r} not in {get_args(hint)}")
    elif origin is list:
        if not isinstance(value, list):
            raise Mismatch(f"{where}: {type(value).__name__}, not a list")
        for i, item in enumerate(value):
            conform(item, get_args(hint)[0], f"{where}[{i}]")
    elif origin is dict:
        if not isinstance(value, dict):
            raise Mismatch(f"{where}: {type(value).__name__}, not an object")
        for key, item in value.items():
            conform(key, get_args(hint)[0], f"{where} key")
            conform(item, get_args(hint)[1], f"{where}.{key}")
    elif hint is type(None):
        if value is not None:
            raise Mismatch(f"{where}: {value!r}, not null")
    elif hint in (str, bool, float, int):
        if type(value) is not hint:  # exact: a numpy scalar, or a bool where a number belongs, is a bug
            raise Mismatch(f"{where}: {type(value).__name__} {value!r}, not {hint.__name__}")
    else:
        raise Mismatch(f"{where}: the checker does not know {hint!r}")


@pytest.fixture(scope="module")
def served(tmp_path_factory, use_embedder, cache_dir):  # type: ignore[no-untyped-def]
    """The demo bundle (category + module + owner + completeness), its KB and a live history, via `open_triage`."""
    root = tmp_path_factory.mktemp("results")
    settings = Settings(embedder="use-v3", cache_dir=cache_dir, max_tokens=128, history_db=root / "history.sqlite",
                        kb_dir=root / "kb")
    build_index(root / "kb", read_folder(DEMO / "kb"), use_embedder)
    with (DEMO / "tickets.csv").open(encoding="utf-8", newline="") as src, \
            (root / "tickets.csv").open("w", encoding="utf-8", newline="") as dst:  # every other ticket: faster
        rows = list(csv.DictReader(src))
        writer = csv.DictWriter(dst, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows[::2])
    bundle = train([root / "tickets.csv"], root / "model", settings=settings, embedder=use_embedder,
                   options=TrainOptions(targets=["category"], cv=3, mlflow=False, owners=DEMO / "owners.yaml",
                                        refit_full=False)).bundle
    triage = open_triage(bundle, settings, embedder=use_embedder)
    yield triage
    triage.close()


@pytest.fixture(scope="module")
def results(served: Triage) -> list[TicketResult]:
    return served.classify(TICKETS)


def test_a_classify_result_is_exactly_the_typed_result(results: list[TicketResult]) -> None:
    for result in results:
        conform(result, TicketResult)
        assert json.loads(json.dumps(result, ensure_ascii=False)) == result  # goes out as JSON unchanged
    first = results[0]
    # every part is there, so the check above covered each TypedDict
    assert {"module", "owner", "completeness", "recurring"} <= first.keys() and first["kb"]
    assert set(first["labels"]) == {"category"}
    assert first["module"]["owners"] and first["module"]["evidence"]["tickets"]
    assert all(r["recurring"]["similar"] for r in results)


def test_the_checker_catches_what_a_head_could_get_wrong(results: list[TicketResult]) -> None:
    broken: list[tuple[str, Any]] = [
        ("missing ['value']", {**results[0], "labels": {"category": {"confidence": 0.5, "abstained": True,
                                                                      "top": []}}}),
        ("unexpected ['colour']", {**results[0], "owner": {**results[0]["owner"], "colour": "red"}}),
        ("module.owners[0]: int", {**results[0], "module": {**results[0]["module"], "owners": [3]}}),
        ("truncated: int", {**results[0], "truncated": 0}),
        ("level: 'leaf'", {**results[0], "module": {**results[0]["module"], "level": "leaf"}}),
    ]
    for needle, bad in broken:
        with pytest.raises(Mismatch, match=needle.replace("[", r"\[").replace("]", r"\]")):
            conform(bad, TicketResult)


def test_escalation_score_is_a_completeness_result(served: Triage) -> None:
    conform(served.score_escalation(TICKETS[2]), CompletenessResult)


def _fields(tp: Any) -> dict[str, Any]:
    if is_typeddict(tp):
        return get_type_hints(tp)
    return {name: f.annotation for name, f in tp.model_fields.items()}


def _required(tp: Any) -> set[str]:
    if is_typeddict(tp):
        return set(tp.__required_keys__)
    return {name for name, f in tp.model_fields.items() if f.is_required()}


def _shapes(hint: Any) -> list[Any]:
    """The models / TypedDicts a field holds (through lists, dicts and unions), or the leaf types."""
    args = get_args(hint)
    if get_origin(hint) in (list, Union, types.UnionType):
        return [s for a in args if a is not type(None) for s in _shapes(a)]
    if get_origin(hint) is dict:
        return _shapes(args[1])
    return [hint]


def _is_shape(tp: Any) -> bool:
    return is_typeddict(tp) or (isinstance(tp, type) and issubclass(tp, BaseModel))


def mirror(model: type[BaseModel], typed: Any, where: str) -> int:
    """Assert the response model and the TypedDict have the same fields, recursively; count the pairs checked."""
    model_fields, typed_fields = _fields(model), _fields(typed)
    assert model_fields.keys() == typed_fields.keys(), (where, model_fields.keys() ^ typed_fields.keys())
    assert _required(model) <= _required(typed), (where, "the API requires what the heads may leave out")
    pairs = 1
    for name in model_fields:
        outer = [s for s in _shapes(model_fields[name]) if _is_shape(s)]
        inner = [s for s in _shapes(typed_fields[name]) if _is_shape(s)]
        assert len(outer) == len(inner), (f"{where}.{name}", outer, inner)
        pairs += sum(mirror(m, t, f"{where}.{name}") for m, t in zip(outer, inner, strict=True))
    return pairs


def test_api_response_models_mirror_the_typed_results() -> None:
    assert mirror(schemas.TriageResult, TicketResult, "TriageResult") >= 15
    mirror(schemas.CompletenessOut, CompletenessResult, "CompletenessOut")
    mirror(schemas.EscalationOut, EscalationResult, "EscalationOut")
    mirror(schemas.KBHit, KBHit, "KBHit")


class _Drifted(schemas.LabelOut):
    colour: str  # declared in the API only


class _Outer(BaseModel):
    labels: dict[str, _Drifted]


class _Typed(TypedDict):
    labels: dict[str, LabelResult]


class _Opaque(TypedDict):
    labels: dict[str, Any]


def test_mirror_notices_a_field_declared_on_one_side_only() -> None:
    with pytest.raises(AssertionError, match="colour"):
        mirror(_Outer, _Typed, "x")  # one level down
    with pytest.raises(AssertionError):
        mirror(_Outer, _Opaque, "x")  # a model in the API where the TypedDict has no shape


def test_every_head_says_its_slot_and_is_placed_by_it(served: Triage, results: list[TicketResult]) -> None:
    slots = {name: head.slot for name, head in served.heads.items()}
    assert all(isinstance(head, Head) for head in served.heads.values())
    assert slots == {"category": "label", "module": "module", "owner": "owner", "completeness": "completeness"}
    # the name is only the key under `labels`: heads renamed in the bundle land in the same places
    renamed = Triage(served.embedder, {f"head-{i}": head for i, head in enumerate(served.heads.values())},
                     served.manifest, owners=served.owners)
    again = renamed.classify(TICKETS[:1])[0]
    original = {k: v for k, v in results[0].items() if k not in ("kb", "recurring")}
    label_name = f"head-{list(served.heads).index('category')}"
    assert again["labels"] == {label_name: original["labels"]["category"]}
    assert {k: v for k, v in again.items() if k not in ("labels", "kb")} == {
        k: v for k, v in original.items() if k != "labels"}


def test_the_history_stores_the_answers_it_was_handed(served: Triage, results: list[TicketResult]) -> None:
    assert served.recurring is not None
    history = served.recurring.history
    for result in results:
        row = history.row_of(result["ticket_id"])
        assert row is not None
        answered = {name: out["value"] for name, out in
                    [*result["labels"].items(), ("module", result["module"]), ("owner", result["owner"])]
                    if out["value"] is not None}
        assert history.details([row])[row]["predicted"] == answered
