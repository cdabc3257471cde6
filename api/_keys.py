"""API keys at rest: only SHA-256 digests are stored, in a YAML/JSON file or TRIAGE_API_KEYS.

Shared by the service (api/_auth.py checks presented keys) and `triage keys` (which creates them).
A key is `trg_` + 32 random bytes: high entropy, so a plain SHA-256 digest is safe to store and
fast to look up; a slow password hash would only add latency to every request.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from triage.errors import TriageError
from triage.settings import Settings

ROLES = ("helpdesk", "agent", "analyst", "l3")
KEY_PREFIX = "trg_"
WEAK_SECRETS = frozenset({"", "secret", "changeme", "change-me", "password", "default", "test", "zammad", "triage"})
MIN_SECRET = 16


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def parse_env(value: str) -> Iterable[dict[str, Any]]:
    for item in filter(None, (part.strip() for part in value.split(","))):
        parts = item.split(":")
        if len(parts) != 3:
            raise TriageError(f"TRIAGE_API_KEYS entry {parts[0]!r}...: expected 'name:role[+role]:sha256hex' "
                              "(the digest `triage keys add` prints)")
        yield _entry({"name": parts[0], "roles": parts[1].split("+"), "sha256": parts[2]}, "TRIAGE_API_KEYS")


def read_keys_file(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise TriageError(f"TRIAGE_API_KEYS_FILE {path} does not exist; create it with `triage keys add --file {path}`")
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise TriageError(f"{path}: unreadable keys file ({exc})") from exc
    keys = (data or {}).get("keys") if isinstance(data, dict) else None
    if not isinstance(keys, list):
        raise TriageError(f"{path}: expected a mapping with a 'keys:' list (see SECURITY.md)")
    return [_entry(e, f"{path} entry {i + 1}") for i, e in enumerate(keys)]


def _entry(entry: Any, where: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise TriageError(f"{where}: expected name, roles and sha256")
    roles = entry.get("roles") or ([entry["role"]] if "role" in entry else [])
    digest = str(entry.get("sha256", "")).lower()
    bad = [r for r in roles if r not in ROLES]
    if not entry.get("name") or not roles or bad:
        raise TriageError(f"{where}: needs a name and roles from {', '.join(ROLES)} (got {bad or roles})")
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise TriageError(f"{where} ({entry['name']}): 'sha256' must be the 64-hex digest of the key, never the key")
    return {"name": str(entry["name"]), "roles": list(roles), "sha256": digest}


def check_settings(settings: Settings) -> list[dict[str, Any]]:
    """The configured keys; raises unless keys or a strong webhook secret exist (or dev mode is explicit)."""
    entries = list(parse_env(settings.api_keys or ""))
    if settings.api_keys_file is not None:
        entries += read_keys_file(Path(settings.api_keys_file))
    if settings.webhook_role not in ROLES:
        raise TriageError(f"TRIAGE_WEBHOOK_ROLE={settings.webhook_role!r} is not a role; use one of {', '.join(ROLES)}")
    if settings.dev_mode:
        return entries
    secret = settings.webhook_secret
    if secret is not None and (secret.strip().lower() in WEAK_SECRETS or len(secret) < MIN_SECRET):
        raise TriageError(f"TRIAGE_WEBHOOK_SECRET is empty, a default or shorter than {MIN_SECRET} characters; "
                          "set a long random one (python -c 'import secrets; print(secrets.token_hex(32))') "
                          "or unset it")
    if not entries and secret is None:
        raise TriageError("no API keys configured: create one with `triage keys add --role agent --name NAME "
                          "--file keys.yaml` and set TRIAGE_API_KEYS_FILE=keys.yaml (or TRIAGE_WEBHOOK_SECRET "
                          "for HMAC callers). For a local try-out only, set TRIAGE_DEV_MODE=1.")
    return entries
