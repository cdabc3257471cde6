"""A secured in-process app (real keys, real bundle) shared by the security tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api._keys import hash_key
from api.app import create_app
from triage import Settings, load_triage

KEYS = {role: f"trg_test-{role}-key-0123456789abcdef" for role in ("helpdesk", "agent", "analyst", "l3")}
KEYS["all"] = "trg_test-all-roles-key-0123456789abcdef"
WEBHOOK_SECRET = "webhook-secret-for-tests-0123456789"


def keys_env() -> str:
    items = [f"{role}:{role}:{hash_key(key)}" for role, key in KEYS.items() if role != "all"]
    return ",".join([*items, f"all:helpdesk+agent+analyst+l3:{hash_key(KEYS['all'])}"])


def secure_client(bundle: Path, embedder: Any, cache_dir: Path, *, history: bool = False,
                  **overrides: Any) -> TestClient:
    """`history=True` attaches a throwaway copy of the bundle's ticket history, so `recurring` is served too."""
    triage = load_triage(bundle, cache_dir=cache_dir, embedder=embedder)
    options: dict[str, Any] = {"cache_dir": cache_dir, "dev_mode": False, "api_keys": keys_env(),
                               "webhook_secret": WEBHOOK_SECRET, "model_root": Path(bundle).parent,
                               "max_request_bytes": 200_000, "max_batch": 5, "rate_limit_per_min": 6000}
    options.update(overrides)
    settings = Settings(**options)
    if history:
        from triage._recurring import recurring_from_settings

        triage.recurring = recurring_from_settings(Path(bundle), triage.manifest, triage.embedder.dim, settings,
                                                   ephemeral=True, alerts=False)
    return TestClient(create_app(settings, triage=triage))


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[role]}"}
