"""The owners file: module -> people or team, kept by the analyst like CODEOWNERS.

Who owns a module is an organisational fact, not something to learn, so it
comes from a file a person edits; the owner *head* separately learns who
actually resolved similar tickets. The file is copied into the bundle at
training and can be replaced at serving time (`TRIAGE_OWNERS_FILE`) when the
rota changes, without retraining.

    modules:
      billing/invoices:
        owners: [team-billing, a.ivanova]
        on_duty: a.ivanova        # optional: listed first while set
      billing: team-billing       # shorthand: one owner, or a list

A module without an entry inherits its nearest parent's (as CODEOWNERS does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from triage.errors import DataError
from triage.results import ModuleResult, OwnerResult

SEPARATOR = "/"


@dataclass(frozen=True)
class OwnerEntry:
    owners: tuple[str, ...]
    on_duty: str | None = None

    def ordered(self) -> list[str]:
        """On duty first, then the rest in file order, no repeats."""
        first = [self.on_duty] if self.on_duty else []
        return list(dict.fromkeys([*first, *self.owners]))


@dataclass
class OwnersMap:
    entries: dict[str, OwnerEntry] = field(default_factory=dict)
    source: str = "owners file"

    def __len__(self) -> int:
        return len(self.entries)

    def lookup(self, module: str) -> tuple[list[str], dict[str, Any]]:
        """Owners for a module (or a parent answer) and where they came from, for the explanation."""
        if module in self.entries:
            return self._hit(module, "module")
        parts = module.split(SEPARATOR)
        for i in range(len(parts) - 1, 0, -1):
            parent = SEPARATOR.join(parts[:i])
            if parent in self.entries:
                return self._hit(parent, "inherited from parent")
        children = [k for k in self.entries if k.startswith(module + SEPARATOR)]
        if children:
            owners = list(dict.fromkeys(o for k in children for o in self.entries[k].ordered()))
            return owners, {"file": self.source, "entry": children, "match": "union of sub-modules"}
        return [], {"file": self.source, "entry": None, "match": "no entry for this module"}

    def _hit(self, key: str, match: str) -> tuple[list[str], dict[str, Any]]:
        entry = self.entries[key]
        return entry.ordered(), {"file": self.source, "entry": key, "match": match, "on_duty": entry.on_duty}

    def owned(self, module: OwnerResult) -> ModuleResult:
        """The module head's answer with `owners` and where they came from (`owners_from`), contract §4."""
        value = module["value"]
        if value is None:
            return {**module, "owners": [],
                    "owners_from": {"file": self.source, "entry": None, "match": "module head abstained"}}
        owners, source = self.lookup(str(value))
        return {**module, "owners": owners, "owners_from": source}

    def to_yaml(self) -> str:
        data = {k: {"owners": list(e.owners), **({"on_duty": e.on_duty} if e.on_duty else {})}
                for k, e in self.entries.items()}
        return yaml.safe_dump({"modules": data}, allow_unicode=True, sort_keys=True)


def _lines(text: str) -> dict[str, int]:
    """Line number of every module key, so errors point into the file."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return {}
    if not isinstance(root, yaml.MappingNode):
        return {}
    for key, value in root.value:
        if key.value == "modules" and isinstance(value, yaml.MappingNode):
            return {k.value: k.start_mark.line + 1 for k, _ in value.value}
    return {}


def _names(value: Any, where: dict[str, Any]) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(v, str) and v.strip() for v in items):
        raise DataError("owners must be a name or a non-empty list of names, e.g. owners: [team-voice, d.kozlov]",
                        **where)
    return tuple(v.strip() for v in items)


def parse_owners(text: str, source: str = "owners file") -> OwnersMap:
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise DataError(f"not valid YAML ({exc})", file=source) from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("modules"), dict):
        raise DataError("expected a top-level 'modules:' mapping of module -> owners "
                        "(see README, 'Module and owner suggestion')", file=source, field="modules")
    lines = _lines(text)
    entries = {}
    for module, spec in raw["modules"].items():
        where: dict[str, Any] = {"file": source, "line": lines.get(str(module)), "field": f"modules.{module}"}
        if isinstance(spec, dict):
            unknown = set(spec) - {"owners", "on_duty"}
            if unknown:
                raise DataError(f"unknown keys {sorted(unknown)}; allowed: owners, on_duty", **where)
            owners = _names(spec.get("owners"), where)
            on_duty = spec.get("on_duty")
            if on_duty is not None and (not isinstance(on_duty, str) or not on_duty.strip()):
                raise DataError("on_duty must be one name", **where)
            entries[str(module).strip()] = OwnerEntry(owners, on_duty.strip() if on_duty else None)
        else:
            entries[str(module).strip()] = OwnerEntry(_names(spec, where))
    return OwnersMap(entries, source=Path(source).name)


def load_owners(path: str | Path) -> OwnersMap:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read the owners file ({exc.strerror})", file=str(path)) from exc
    return parse_owners(text, str(path))


def bundle_owners(bundle: Path, override: Path | None = None) -> OwnersMap | None:
    """The serving-time owners file if given, else the copy training stored in the bundle."""
    if override is not None:
        return load_owners(override)
    stored = Path(bundle) / "owners.yaml"
    return load_owners(stored) if stored.is_file() else None
