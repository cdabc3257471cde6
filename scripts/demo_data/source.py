"""Load the hand-written material under data/demo/source/ into typed objects.

All reading of source files happens in ``load_source``; the rest of the generator only sees the
``Source`` it returns.  Every check that can fail names the file and the entry, so an edit that breaks
the material stops the generator with a message saying what to fix instead of a KeyError later.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# A scenario's text is written per language as "KEY: value" lines (see data/demo/source/README.md):
#   S subject   Y symptom   D detail   P step   E expected   A actual   R resolution
#   X answer of a duplicate   V vague "subject || body"   Q what L3 asks for   N environment line
# "---" starts a variant; lines before the first "---" are shared by all variants.
LINE_KEYS = frozenset("SYDPEARXVQN")
CONCAT_KEYS = ("S", "Y", "D")         # the shared lines are added to the variant's own
SHARED_ONLY_KEYS = ("V", "X", "Q")    # always shared, even when written inside a variant
SCENARIO_FIELDS = {"key", "category", "module", "weight", "priority", "kb", "customers", "request",
                   "alt", "ru", "en"}
REFERENCE_KEYS = {"categories", "owners", "company_ru", "departments", "roles", "names"}
PHRASE_POOLS = {
    "greet", "ask", "ask_urgent", "impact", "impact_family", "subject_prefix", "reply_prefix",
    "struct_labels", "env", "checked", "context", "proper_words", "phone_intro", "phone_lead",
    "phone_tail", "tg_prefix", "tg_suffix", "tg_urgent", "vague_urgent", "short_thanks", "signatures",
    "kb_ref", "closers", "info_prefix", "info_after", "info_no_reply", "info_what", "generic_dup",
    "follow_up", "follow_up_subj",
}

Lines = dict[str, list[str]]


class SourceError(ValueError):
    """The source material is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Block:
    """One language of a scenario: the shared lines and one dict per variant (concrete cause)."""

    shared: Lines
    variants: list[Lines]


@dataclass(frozen=True)
class Scenario:
    """One kind of problem: its labels, how often it occurs and its text material per language."""

    key: str
    category: str
    module: str
    weight: float
    priority: list[int]  # weights for low, medium, high, critical
    texts: dict[str, Block]
    kb: str = ""
    customers: list[str] = field(default_factory=list)
    request: bool = False  # a service request rather than an incident
    alt: tuple[str, float] | None = None  # (other category, share) some agents choose
    origin: str = ""  # "file (line N)", for error messages

    @property
    def family(self) -> str:
        return self.module.split("/")[0]

    def n_variants(self, lang: str) -> int:
        return len(self.texts[lang].variants)

    def view(self, lang: str, variant: int) -> Lines:
        """The lines of one variant merged with the shared ones."""
        block = self.texts[lang]
        out = dict(block.shared)
        for key, values in block.variants[variant].items():
            out[key] = values + block.shared.get(key, []) if key in CONCAT_KEYS else values
        return out


@dataclass(frozen=True)
class Outage:
    """Many reworded reports of one cause; the first is the original, the rest point at it."""

    scenario: Scenario
    start: dt.datetime
    size: int
    n_en: int


@dataclass(frozen=True)
class Recurring:
    """A problem that comes back after every update (the 1C VAT report)."""

    scenario: Scenario
    updates: list[dt.date]
    tickets: list[int]


@dataclass(frozen=True)
class KbArticle:
    id: str
    category: str
    path: Path


@dataclass(frozen=True)
class Source:
    reference: dict[str, Any]
    phrases: dict[str, Any]
    scenarios: list[Scenario]
    outages: list[Outage]
    recurring: Recurring
    kb_url: str
    kb: list[KbArticle]


def load_source(source: Path, kb_dir: Path) -> Source:
    """Read every source file; ``kb_dir`` holds the published articles listed in kb.yaml."""
    scenarios = [scenario_from(entry, path)
                 for path in sorted((source / "scenarios").glob("*.yaml"))
                 for entry in _yaml(path, list)]
    incidents, kb_index = source / "incidents.yaml", source / "kb.yaml"
    try:
        outages, recurring = _incidents(incidents, {s.key: s for s in scenarios})
        kb_url, kb = _kb(kb_index, kb_dir)
    except SourceError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise SourceError(f"{incidents} or {kb_index}: missing or malformed field: {exc}") from exc
    src = Source(_yaml(source / "reference.yaml"), _yaml(source / "phrases.yaml"), scenarios,
                 outages, recurring, kb_url, kb)
    check(src, kb_index, kb_dir)
    return src


def _incidents(path: Path, by_key: dict[str, Scenario]) -> tuple[list[Outage], Recurring]:
    data = _yaml(path)
    outages = [Outage(scenario_from(o["scenario"], path), dt.datetime.fromisoformat(o["start"]),
                      o["tickets"], o["english"]) for o in data["outages"]]
    rec = data["recurring"]
    if rec["scenario"] not in by_key:
        raise SourceError(f"{path}: recurring: unknown scenario {rec['scenario']!r}")
    updates = [dt.date.fromisoformat(d) for d in rec["updates"]]
    if len(updates) != len(rec["tickets"]):
        raise SourceError(f"{path}: recurring: give one 'tickets' count per entry of 'updates'")
    return outages, Recurring(by_key[rec["scenario"]], updates, rec["tickets"])


def _kb(path: Path, kb_dir: Path) -> tuple[str, list[KbArticle]]:
    data = _yaml(path)
    return data["url"], [KbArticle(a["id"], a["category"], kb_dir / a["id"]) for a in data["articles"]]


class Located(dict[str, Any]):
    """A YAML mapping that remembers the file line of each value, for error messages."""

    lines: dict[str, int]


class _Loader(yaml.SafeLoader):  # type: ignore[misc]  # (no stubs for PyYAML)
    pass


def _located_mapping(loader: _Loader, node: yaml.MappingNode) -> Located:
    mapping = Located(loader.construct_mapping(node, deep=True))
    mapping.lines = {k.value: v.start_mark.line + 1 for k, v in node.value if isinstance(k, yaml.ScalarNode)}
    return mapping


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _located_mapping)


def _yaml(path: Path, kind: type = dict) -> Any:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # _Loader is a SafeLoader
    except (OSError, yaml.YAMLError) as exc:
        raise SourceError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(data, kind):
        raise SourceError(f"{path}: expected a YAML {kind.__name__} at the top level")
    return data


def parse_block(text: str, where: str, first_line: int = 1) -> Block:
    """Parse one language of a scenario from its "KEY: value" lines (``first_line``: file line of line 1)."""
    shared: Lines = {}
    variants: list[Lines] = []
    current = shared
    for n, raw in enumerate(text.splitlines()):
        line = raw.strip()
        if not line:
            continue
        if line == "---":
            current = {}
            variants.append(current)
            continue
        key, sep, value = line.partition(": ")
        if not sep or key not in LINE_KEYS:
            raise SourceError(f"{where}, line {first_line + n}: expected 'KEY: text' with KEY one of "
                              f"{''.join(sorted(LINE_KEYS))} or '---', got {raw.strip()!r}")
        target = shared if key in SHARED_ONLY_KEYS else current
        target.setdefault(key, []).append(value.strip())
    return Block(shared, variants or [{}])


def scenario_from(entry: dict[str, Any], path: Path) -> Scenario:
    """Build and check one scenario entry of a YAML file."""
    key, lines = entry.get("key", "?"), getattr(entry, "lines", {})
    where = f"{path}: scenario {key}"
    origin = f"{path} (line {min(lines.values(), default=0)})"
    unknown = set(entry) - SCENARIO_FIELDS
    missing = {"key", "category", "module", "weight", "priority", "ru"} - set(entry)
    if unknown or missing:
        raise SourceError(f"{origin}: scenario {key}: unknown fields {sorted(unknown)}, "
                          f"missing fields {sorted(missing)}")
    texts = {lang: parse_block(entry[lang], f"{where}, {lang}", lines.get(lang, 0) + 1)
             for lang in ("ru", "en") if entry.get(lang)}
    alt = entry.get("alt")
    sc = Scenario(key, entry["category"], entry["module"], entry["weight"], entry["priority"], texts,
                  entry.get("kb", ""), entry.get("customers", []), entry.get("request", False),
                  (alt["category"], alt["share"]) if alt else None, origin)
    for lang in texts:
        for i in range(sc.n_variants(lang)):
            view = sc.view(lang, i)
            lacking = [k for k in ("S", "Y") if k not in view]
            if "R" not in view and "X" not in view:
                lacking.append("R")
            if "P" in view and ("E" in view) != ("A" in view):
                lacking.append("E/A")
            if lacking:
                raise SourceError(f"{where}, {lang}, variant {i}: no {'/'.join(lacking)} lines")
    return sc


def check(src: Source, kb_path: Path, kb_dir: Path) -> None:
    """Cross-file references: categories, modules and KB ids must exist; kb_dir must match kb.yaml."""
    for name, data, needed in (("reference.yaml", src.reference, REFERENCE_KEYS),
                               ("phrases.yaml", src.phrases, PHRASE_POOLS)):
        if needed - set(data):
            raise SourceError(f"{name}: missing {sorted(needed - set(data))} (used by the generator)")
    categories = set(src.reference["categories"])
    owners = src.reference["owners"]
    kb_ids = {a.id for a in src.kb}
    seen: dict[str, str] = {}
    for sc in [*src.scenarios, *(o.scenario for o in src.outages)]:
        if sc.key in seen:
            raise SourceError(f"{sc.origin}: scenario key {sc.key!r} is already used in {seen[sc.key]}")
        seen[sc.key] = sc.origin
        bad = [f"category {sc.category!r}"] if sc.category not in categories else []
        bad += [f"alt category {sc.alt[0]!r}"] if sc.alt and sc.alt[0] not in categories else []
        bad += [f"module {sc.module!r} (not in reference.yaml owners)"] if sc.module not in owners else []
        bad += [f"kb {sc.kb!r} (not in kb.yaml)"] if sc.kb and sc.kb not in kb_ids else []
        if bad:
            raise SourceError(f"{sc.origin}: scenario {sc.key}: unknown {', '.join(bad)}")
    for article in src.kb:
        if article.category not in categories:
            raise SourceError(f"{kb_path}: {article.id}: unknown category {article.category!r}")
    on_disk = {p.name for p in kb_dir.glob("*.md")}
    if on_disk != kb_ids:
        raise SourceError(f"{kb_path} lists {sorted(kb_ids - on_disk)} missing from {kb_dir}, and {kb_dir} "
                          f"has {sorted(on_disk - kb_ids)} not listed: list every article once in kb.yaml")
