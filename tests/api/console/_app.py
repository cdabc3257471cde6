"""A secured in-process app on the small bundle (real keys, live history, prediction store) for console tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from api.app import create_app
from api.testing import KEYS, keys_env
from triage import open_triage

from ..._small_bundle import small_bundle, small_settings

__all__ = ["KEYS", "secure_app"]


def secure_app(tmp_path_factory: Any, embedder: Any, cache_dir: Path) -> Any:
    _, result = small_bundle(tmp_path_factory, embedder, cache_dir)
    root = tmp_path_factory.mktemp("console")
    settings = small_settings(root, cache_dir, dev_mode=False, api_keys=keys_env(), rate_limit_per_min=0)
    triage = open_triage(result.bundle, settings, embedder=embedder, kb=None, alerts=False)
    return create_app(settings, triage=triage)
