"""Console sessions and CSRF tokens: a signed cookie that names a key by its digest, never the key.

Signing in presents an API key once (form field `key`); the session cookie then carries the key's
SHA-256 digest (what the service already stores), an expiry, a session id and a CSRF seed, signed with
HMAC-SHA256 under `TRIAGE_SESSION_SECRET` (or a random secret per process: sessions then end on
restart). Each request looks the digest up in the current key ring, so a key revoked with SIGHUP ends
its sessions at once. The cookie is HttpOnly and SameSite=Strict (Secure when served over HTTPS).

CSRF: every form carries `csrf`, an HMAC of the session's seed (or, before sign-in, of a random
anonymous cookie); a POST whose token does not match is refused. SameSite already stops cross-site
posts in current browsers; the token covers older ones and same-site attackers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response

SESSION_COOKIE = "triage_session"
ANON_COOKIE = "triage_csrf"
LANG_COOKIE = "triage_lang"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Session:
    digest: str  # SHA-256 of the signed-in key
    sid: str
    csrf_seed: str
    expires: float


class Sessions:
    """Issues and reads signed session cookies; remembers signed-out session ids until they expire."""

    def __init__(self, secret: str | None, hours: float) -> None:
        self._secret = (secret or secrets.token_hex(32)).encode()
        self.lifetime = hours * 3600
        self._ended: dict[str, float] = {}  # sid -> expiry, so a copied cookie dies with sign-out
        self._lock = threading.Lock()

    def _sign(self, payload: bytes) -> str:
        return _b64(hmac.new(self._secret, payload, hashlib.sha256).digest())

    def issue(self, digest: str, now: float | None = None) -> tuple[str, Session]:
        now = time.time() if now is None else now
        session = Session(digest, secrets.token_urlsafe(12), secrets.token_urlsafe(16), now + self.lifetime)
        payload = json.dumps({"k": session.digest, "s": session.sid, "c": session.csrf_seed,
                              "e": int(session.expires)}, separators=(",", ":")).encode()
        return f"{_b64(payload)}.{self._sign(payload)}", session

    def read(self, cookie: str | None, now: float | None = None) -> Session | None:
        """The session a cookie holds; None when absent, tampered with, expired or signed out."""
        if not cookie or cookie.count(".") != 1 or len(cookie) > 1000:
            return None
        body, signature = cookie.split(".")
        try:
            payload = _unb64(body)
            if not hmac.compare_digest(self._sign(payload), signature):
                return None
            data: dict[str, Any] = json.loads(payload)
            session = Session(str(data["k"]), str(data["s"]), str(data["c"]), float(data["e"]))
        except (ValueError, KeyError, TypeError):
            return None
        now = time.time() if now is None else now
        with self._lock:
            if session.expires <= now or session.sid in self._ended:
                return None
        return session

    def end(self, session: Session) -> None:
        now = time.time()
        with self._lock:
            self._ended = {sid: exp for sid, exp in self._ended.items() if exp > now}
            self._ended[session.sid] = session.expires

    def csrf_token(self, seed: str) -> str:
        return self._sign(b"csrf:" + seed.encode())

    def csrf_ok(self, seed: str | None, token: str | None) -> bool:
        return bool(seed and token) and hmac.compare_digest(self.csrf_token(str(seed)), str(token))


def sessions_of(request: Request) -> Sessions:
    return request.app.state.sessions  # type: ignore[no-any-return]


def current(request: Request) -> Session | None:
    return sessions_of(request).read(request.cookies.get(SESSION_COOKIE))


def csrf_seed(request: Request) -> str | None:
    """The seed forms on this page are tied to: the session's, else the anonymous cookie's."""
    session = current(request)
    if session is not None:
        return session.csrf_seed
    anon = request.cookies.get(ANON_COOKIE)
    return anon if anon and 16 <= len(anon) <= 64 else None


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
