"""The contract lives in the repository (docs/contract.md), in step with the CI's ../shared copy, and the
README points inside the repository, not beside it."""

from __future__ import annotations

import re

import pytest

from .conftest import REPO, SHARED

CONTRACT = REPO / "docs" / "contract.md"
UPSTREAM = SHARED.parent / "triage-contract.md"


def test_the_repository_carries_the_contract() -> None:
    text = CONTRACT.read_text(encoding="utf-8")
    assert text.startswith("# triage contract") and "## 1. Ticket records" in text


@pytest.mark.skipif(not UPSTREAM.is_file(), reason="needs ../shared/triage-contract.md (CI only) to compare with")
def test_the_copy_is_in_step_with_the_shared_contract() -> None:
    assert CONTRACT.read_bytes() == UPSTREAM.read_bytes(), (
        f"docs/contract.md differs from {UPSTREAM}: copy it over (cp {UPSTREAM} docs/contract.md)")


def test_readme_links_the_contract_inside_the_repository() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)]+)\)", readme)
    assert "docs/contract.md" in links
    assert not [link for link in links if "../shared" in link]  # a clone has nothing beside it
    assert not [t for t in re.findall(r"\[contract\]\(([^)]+)\)", readme) if t != "docs/contract.md"]


def test_tests_do_not_reach_beside_the_clone_except_through_shared() -> None:
    """Only conftest.SHARED may name ../shared; tests that use it are marked needs_shared."""
    offenders = []
    for path in sorted((REPO / "tests").glob("*.py")):
        if path.name in ("conftest.py", "test_contract.py"):
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"""["']\.\./shared|parent / "shared\"""", text):
            offenders.append(path.name)
        if "SHARED /" in text and "needs_shared" not in text:
            offenders.append(f"{path.name} (uses SHARED without needs_shared)")
    assert not offenders, offenders
