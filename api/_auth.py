"""Who may call what: API keys with roles, HMAC-signed webhooks, per-key rate limits.

One table, `ROUTE_ROLES`, says which roles may call each route; one dependency, `authorize`, applied to
the whole app, enforces it. A route missing from the table is refused (403) rather than left open, so a
new endpoint joins the security harness by adding one line here (tests/test_auth.py checks every route
of the app is listed). Keys are stored as SHA-256 digests only: they are 256-bit random tokens, so a
slow password hash would add latency without adding safety, and the digest doubles as the lookup key.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException, Request

from api._keys import ROLES, check_settings, hash_key
from triage import Settings
from triage.errors import TriageError

log = logging.getLogger("triage.api.auth")

ROUTE_ROLES: dict[tuple[str, str], frozenset[str]] = {
    ("POST", "/v1/classify"): frozenset({"helpdesk", "agent"}),
    ("POST", "/v1/classify/batch"): frozenset({"helpdesk", "agent"}),
    ("POST", "/v1/kb/search"): frozenset({"agent"}),
    ("POST", "/v1/escalations/score"): frozenset({"agent"}),
    ("POST", "/v1/feedback"): frozenset({"l3"}),
    ("GET", "/v1/feedback"): frozenset({"l3", "analyst"}),  # reviewers see each other's votes; analysts audit
    ("GET", "/v1/problems"): frozenset({"agent", "analyst"}),
    ("GET", "/v1/model"): frozenset({"analyst"}),
    ("GET", "/v1/reports/*"): frozenset({"analyst"}),  # "/*": every path under the prefix
    ("POST", "/v1/reports/*"): frozenset({"analyst"}),
    ("POST", "/v1/admin/reload"): frozenset({"analyst"}),
    ("GET", "/metrics"): frozenset({"analyst"}),
}
# Open to anyone: liveness for orchestrators, and the schema (it is not a secret; integrators and the fuzzer read it).
PUBLIC = frozenset({"/healthz", "/readyz", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})


def roles_for(method: str, path: str) -> frozenset[str] | None:
    """The roles allowed on a route template; None when the table does not list it."""
    if (method, path) in ROUTE_ROLES:
        return ROUTE_ROLES[(method, path)]
    for (m, pattern), roles in ROUTE_ROLES.items():
        if m == method and pattern.endswith("/*") and (path + "/").startswith(pattern[:-1]):
            return roles
    return None


@dataclass(frozen=True)
class Principal:
    """The caller: a key's name (logged, never the key) and its roles."""

    name: str
    roles: frozenset[str]


@dataclass
class KeyRing:
    """Hashed keys by digest, the webhook secret, and one token bucket per key."""

    keys: dict[str, Principal] = field(default_factory=dict)
    webhook_secret: str | None = None
    webhook_role: str = "helpdesk"
    dev_mode: bool = False
    rate_per_min: int = 0
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyRing:
        """Refuses to build an open service by accident: no keys and no strong secret means no start."""
        entries = check_settings(settings)
        if settings.dev_mode:
            log.warning("DEVELOPMENT MODE (TRIAGE_DEV_MODE=1): no authentication, every route open to anyone who "
                        "can reach the port. Never use it outside a developer's machine.")
        return cls(keys={e["sha256"]: Principal(e["name"], frozenset(e["roles"])) for e in entries},
                   webhook_secret=settings.webhook_secret, webhook_role=settings.webhook_role,
                   dev_mode=settings.dev_mode, rate_per_min=settings.rate_limit_per_min)

    def identify(self, headers: Mapping[str, str], body: bytes) -> Principal | None:
        key = _presented_key(headers)
        if key is not None:
            return self.keys.get(hash_key(key))  # a dict lookup by digest: nothing secret is compared char by char
        signature = headers.get("x-hub-signature")
        if signature is not None and self.webhook_secret:
            want = "sha1=" + hmac.new(self.webhook_secret.encode(), body, hashlib.sha1).hexdigest()
            if hmac.compare_digest(want.encode(), signature.strip().encode()):
                return Principal("webhook", frozenset({self.webhook_role}))
        return None

    def take(self, name: str, now: float | None = None) -> float:
        """Take one token from `name`'s bucket; returns 0 when allowed, else the seconds until the next token."""
        if self.rate_per_min <= 0:
            return 0.0
        rate, capacity = self.rate_per_min / 60.0, max(1.0, self.rate_per_min / 6.0)  # burst: 10 s worth
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, then = self._buckets.get(name, (capacity, now))
            tokens = min(capacity, tokens + (now - then) * rate)
            if tokens < 1.0:
                self._buckets[name] = (tokens, now)
                return (1.0 - tokens) / rate
            self._buckets[name] = (tokens - 1.0, now)
            return 0.0


def reload_keys(app: Any, settings: Settings) -> None:
    """Re-read the keys (SIGHUP), so a key is added or revoked without a restart; a bad file keeps the old ones."""
    try:
        app.state.keyring = KeyRing.from_settings(settings)
        log.info("API keys reloaded", extra={"keys": len(app.state.keyring.keys)})
    except TriageError as exc:
        log.error("API keys not reloaded, keeping the previous ones: %s", exc)


def _presented_key(headers: Mapping[str, str]) -> str | None:
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return headers.get("x-api-key")


async def authorize(request: Request) -> Principal:
    """App-wide dependency: 401 unknown caller, 403 wrong role or unlisted route, 429 over the rate."""
    ring: KeyRing = request.app.state.keyring
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    if path in PUBLIC:
        return Principal("public", frozenset())
    if ring.dev_mode:
        principal = Principal("dev", frozenset(ROLES))
    else:
        body = await request.body() if "x-hub-signature" in request.headers else b""
        found = ring.identify(request.headers, body)
        if found is None:
            raise HTTPException(401, "missing or unknown credentials: send 'Authorization: Bearer <key>' or "
                                     "'X-API-Key: <key>' (ask an administrator for a key: `triage keys add`), "
                                     "or sign the body with X-Hub-Signature: sha1=<hmac>",
                                headers={"WWW-Authenticate": "Bearer"})
        principal = found
    request.state.principal = principal
    allowed = roles_for(request.method, path)
    if allowed is None:
        raise HTTPException(403, f"{request.method} {path} has no roles assigned (api/_auth.py ROUTE_ROLES); "
                                 "refused until an administrator lists it")
    if not ring.dev_mode and not principal.roles & allowed:
        raise HTTPException(403, f"key '{principal.name}' has role(s) {', '.join(sorted(principal.roles))}; "
                                 f"{request.method} {path} needs one of: {', '.join(sorted(allowed))}. "
                                 "Ask for a key with that role.")
    wait = 0.0 if ring.dev_mode else ring.take(principal.name)
    if wait > 0:
        raise HTTPException(429, f"rate limit of {ring.rate_per_min} requests/minute for key '{principal.name}' "
                                 f"reached (TRIAGE_RATE_LIMIT_PER_MIN); retry in {math.ceil(wait)} s",
                            headers={"Retry-After": str(math.ceil(wait))})
    return principal


_ERROR = {"content": {"application/json": {"schema": {
    "type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}}}}


def document_security(app: Any) -> None:
    """Add the key schemes and the 400/401/403/413/429 answers to the OpenAPI, so clients and the fuzzer know them."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema  # type: ignore[no-any-return]
        schema: dict[str, Any] = build()
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes["bearer"] = {"type": "http", "scheme": "bearer", "description": "API key (`triage keys add`)"}
        schemes["apiKey"] = {"type": "apiKey", "in": "header", "name": "X-API-Key"}
        for path, ops in schema.get("paths", {}).items():
            if path in PUBLIC:
                continue
            for method, op in ops.items():
                roles = roles_for(method.upper(), path) or frozenset()
                op["security"] = [{"bearer": []}, {"apiKey": []}]
                op["description"] = (op.get("description") or "") + f"\n\nRoles: {', '.join(sorted(roles))}."
                answers = op.setdefault("responses", {})
                for code, text in (("401", "No or unknown credentials"), ("403", "The key lacks the role"),
                                   ("429", "Rate limit reached; see Retry-After"), ("413", "Request too large"),
                                   ("400", "Body is not decodable (not UTF-8 JSON)")):
                    answers.setdefault(code, {"description": text, **_ERROR})
        app.openapi_schema = schema
        return schema

    app.openapi = openapi
