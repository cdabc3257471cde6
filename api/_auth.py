"""Who may call what: API keys with roles, HMAC-signed webhooks, per-key rate limits.

Each route declares its roles where it is declared: `dependencies=[requires("agent")]` (api/routes.py).
One app-wide dependency, `authorize`, identifies the caller, refuses (403) any route that declares no
roles rather than leaving it open, checks the role and the rate; so a new endpoint cannot be reachable
without a decision about who may call it (tests/api/test_auth.py walks every route of the app). Keys are
stored as SHA-256 digests only: they are 256-bit random tokens, so a slow password hash would add
latency without adding safety, and the digest doubles as the lookup key.
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

from fastapi import Depends, HTTPException, Request
from fastapi.routing import APIRoute

from api._keys import ROLES, check_settings, hash_key
from triage import Settings
from triage.errors import TriageError

log = logging.getLogger("triage.api.auth")

# Open to anyone: liveness for orchestrators, and the schema (it is not a secret; integrators and the fuzzer read it).
PUBLIC = frozenset({"/healthz", "/readyz", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json",
                    "/ui/sign-in", "/ui/lang/{code}"})  # the console's sign-in and language switch
CONSOLE = "/ui"  # console pages: the caller is the signed-in session (a cookie), never a header


class Roles:
    """The roles a route admits, as a marker dependency declared with the route (see `requires`)."""

    def __init__(self, *roles: str) -> None:
        unknown = set(roles) - set(ROLES)
        if not roles or unknown:
            raise ValueError(f"a route needs one or more of {ROLES}; got {sorted(roles)}")
        self.roles = frozenset(roles)

    async def __call__(self) -> None:
        """Checked by `authorize`, which runs first and knows the caller; nothing left to do here."""


def requires(*roles: str) -> Any:
    """`dependencies=[requires("agent", "analyst")]` on a route: who may call it (403 for anyone else)."""
    return Depends(Roles(*roles))


def roles_of(route: Any) -> frozenset[str] | None:
    """The roles a route declared; None when it declared none (it is then refused)."""
    for dep in getattr(getattr(route, "dependant", None), "dependencies", ()):
        if isinstance(dep.call, Roles):
            return dep.call.roles
    return None


def route_roles(app: Any) -> dict[tuple[str, str], frozenset[str] | None]:
    """(method, path) -> declared roles for every API route of `app` (for the OpenAPI and the tests)."""
    return {(method, prefix + route.path): roles_of(route) for prefix, route in _api_routes(app.routes, "")
            for method in sorted(route.methods or ())}


def _api_routes(routes: Any, prefix: str) -> list[tuple[str, APIRoute]]:
    """Every APIRoute, through included routers (FastAPI keeps them nested, not copied into the app)."""
    found: list[tuple[str, APIRoute]] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append((prefix, route))
        elif hasattr(route, "original_router"):
            found += _api_routes(route.original_router.routes, prefix + route.include_context.prefix)
    return found


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
    extra_secrets: tuple[str, ...] = ()  # per-helpdesk webhook secrets (Jira's), same role
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
                   extra_secrets=tuple(s for s in (settings.jira_webhook_secret,) if s),
                   dev_mode=settings.dev_mode, rate_per_min=settings.rate_limit_per_min)

    def identify(self, headers: Mapping[str, str], body: bytes) -> Principal | None:
        key = _presented_key(headers)
        if key is not None:
            return self.keys.get(hash_key(key))  # a dict lookup by digest: nothing secret is compared char by char
        signature = (headers.get("x-hub-signature") or "").strip()
        algorithm = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}.get(signature.partition("=")[0])
        if algorithm is None:
            return None
        for secret in (s for s in (self.webhook_secret, *self.extra_secrets) if s):
            want = signature.partition("=")[0] + "=" + hmac.new(secret.encode(), body, algorithm).hexdigest()
            if hmac.compare_digest(want.encode(), signature.encode()):
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


class SignInRequired(HTTPException):
    """A console page without a valid session: the console answers with its sign-in page."""

    def __init__(self) -> None:
        super().__init__(401, "sign in to the console with an API key")


def _session_principal(request: Request, ring: KeyRing) -> Principal:
    """The key a console session names (by digest), if it is still a key; cookies never reach the JSON API.

    Keeping cookies off `/v1/*` means no cross-site form can drive the API with a browser's session.
    """
    session = request.app.state.sessions.read(request.cookies.get("triage_session"))
    principal = None if session is None else ring.keys.get(session.digest)
    if principal is None:
        raise SignInRequired()
    return principal


async def authorize(request: Request) -> Principal:
    """App-wide dependency: 401 unknown caller, 403 wrong role or unlisted route, 429 over the rate."""
    ring: KeyRing = request.app.state.keyring
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    if path in PUBLIC:
        return Principal("public", frozenset())
    if ring.dev_mode:
        principal = Principal("dev", frozenset(ROLES))
    elif path.startswith(CONSOLE):
        principal = _session_principal(request, ring)
    else:
        body = await request.body() if "x-hub-signature" in request.headers else b""
        found = ring.identify(request.headers, body)
        if found is None:
            raise HTTPException(401, "missing or unknown credentials: send 'Authorization: Bearer <key>' or "
                                     "'X-API-Key: <key>' (ask an administrator for a key: `triage keys add`), "
                                     "or sign the body with X-Hub-Signature: sha1=<hmac> (Zammad) or "
                                     "sha256=<hmac> (Jira)",
                                headers={"WWW-Authenticate": "Bearer"})
        principal = found
    request.state.principal = principal
    allowed = roles_of(route)
    if allowed is None:
        raise HTTPException(403, f"{request.method} {path} declares no roles (dependencies=[requires(...)] where "
                                 "the route is declared); refused until it does")
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
        declared = route_roles(app)
        for path, ops in schema.get("paths", {}).items():
            if path in PUBLIC:
                continue
            for method, op in ops.items():
                roles = declared.get((method.upper(), path)) or frozenset()
                op["security"] = [{"bearer": []}, {"apiKey": []}]
                op["description"] = (op.get("description") or "") + f"\n\nRoles: {', '.join(sorted(roles))}."
                op["x-roles"] = sorted(roles)  # machine-readable, for clients and the fuzzer
                answers = op.setdefault("responses", {})
                for code, text in (("401", "No or unknown credentials"), ("403", "The key lacks the role"),
                                   ("429", "Rate limit reached; see Retry-After"), ("413", "Request too large"),
                                   ("400", "Body is not decodable (not UTF-8 JSON)")):
                    answers.setdefault(code, {"description": text, **_ERROR})
        app.openapi_schema = schema
        return schema

    app.openapi = openapi
