"""The owners file: parsing, on-duty order, CODEOWNERS-style inheritance, errors that point at the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage.errors import DataError
from triage.owners import load_owners, parse_owners
from triage.results import OwnerResult

DEMO_OWNERS = Path(__file__).resolve().parents[1] / "data" / "demo" / "owners.yaml"

TEXT = """\
modules:
  billing:
    owners: [team-billing]
  billing/invoices:
    owners: [team-billing, a.ivanova, b.petrov]
    on_duty: b.petrov
  billing/payments: [team-billing, c.sidorov]
  crm/leads: team-crm
"""


def test_on_duty_first_then_file_order() -> None:
    owners = parse_owners(TEXT)
    names, source = owners.lookup("billing/invoices")
    assert names == ["b.petrov", "team-billing", "a.ivanova"]
    assert source["entry"] == "billing/invoices" and source["on_duty"] == "b.petrov"
    assert owners.lookup("billing/payments")[0] == ["team-billing", "c.sidorov"]
    assert owners.lookup("crm/leads")[0] == ["team-crm"]


def test_inheritance_and_parent_answers() -> None:
    owners = parse_owners(TEXT)
    names, source = owners.lookup("billing/refunds/eu")  # no entry: nearest parent's
    assert names == ["team-billing"] and source["match"] == "inherited from parent"
    names, source = owners.lookup("crm")  # a parent answer without its own entry: its sub-modules' owners
    assert names == ["team-crm"] and source["match"] == "union of sub-modules"
    assert owners.lookup("hr/payroll") == ([], {"file": "owners file", "entry": None,
                                                "match": "no entry for this module"})


def test_owned_fills_contract_owners() -> None:
    owners = parse_owners(TEXT)
    answer: OwnerResult = {"value": "billing/invoices", "confidence": 0.9, "abstained": False, "top": []}
    module = owners.owned(answer)
    assert module["owners"][0] == "b.petrov" and module["owners_from"]["entry"] == "billing/invoices"
    assert "owners" not in answer  # the head's answer is left as it was
    abstained = owners.owned({"value": None, "confidence": 0.2, "abstained": True, "top": []})
    assert abstained["owners"] == [] and abstained["owners_from"]["match"] == "module head abstained"


def test_round_trip_through_the_bundle_copy() -> None:
    owners = load_owners(DEMO_OWNERS)
    again = parse_owners(owners.to_yaml())
    assert again.entries == owners.entries and len(owners) == 13
    assert owners.lookup("telephony/pbx-gateway")[0][0] == "d.kozlov"  # on duty


@pytest.mark.parametrize(("text", "needle", "line"), [
    ("modules:\n  a: {owners: [x]}\n  b: {owners: []}\n", "non-empty list", 3),
    ("modules:\n  a: {owners: [x], oncall: y}\n", "unknown keys ['oncall']", 2),
    ("modules:\n  a: {owners: [x], on_duty: [y, z]}\n", "on_duty must be one name", 2),
    ("owners:\n  a: [x]\n", "top-level 'modules:'", None),
    ("modules: [a, b\n", "not valid YAML", None),
])
def test_bad_files_name_line_and_field(tmp_path: Path, text: str, needle: str, line: int | None) -> None:
    path = tmp_path / "owners.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_owners(path)
    assert needle in str(info.value) and str(path) in str(info.value)
    assert info.value.line == line


def test_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read the owners file"):
        load_owners(tmp_path / "nope.yaml")
