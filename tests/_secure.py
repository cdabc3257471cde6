"""A secured in-process app (real keys, real bundle) shared by the security tests."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from api.testing import KEYS, WEBHOOK_SECRET, keys_env
from triage import Settings, load_triage

__all__ = ["KEYS", "WEBHOOK_SECRET", "auth", "keys_env", "secure_client"]


def secure_client(bundle: Path, embedder: Any, cache_dir: Path, *, history: bool = False,
                  **overrides: Any) -> TestClient:
    """`history=True` attaches a throwaway copy of the bundle's ticket history, so `recurring` is served too."""
    triage = load_triage(bundle, cache_dir=cache_dir, embedder=embedder)
    scratch = Path(tempfile.mkdtemp(prefix="triage-secure-"))  # stores the app may create stay out of the clone
    options: dict[str, Any] = {"cache_dir": cache_dir, "deliveries_db": scratch / "deliveries.sqlite",
                               "dev_mode": False, "api_keys": keys_env(),
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
