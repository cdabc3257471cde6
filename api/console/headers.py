"""Security headers on the console and the docs: a Content-Security-Policy allowing only the service itself.

Console pages: scripts, styles, images and requests from 'self' only, no inline script, no framing.
Swagger UI and ReDoc set element styles from JavaScript and ReDoc injects its stylesheet at run time,
so the docs pages also allow inline *styles* (never inline scripts) and ReDoc's search worker (blob:).
"""

from __future__ import annotations

from typing import Any

CONSOLE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
               "frame-ancestors 'none'")
DOCS_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "connect-src 'self'; font-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'")
DOCS = ("/docs", "/redoc")


def policy_for(path: str) -> str | None:
    if path == "/ui" or path.startswith("/ui/"):
        return CONSOLE_CSP
    if path in DOCS or path.startswith("/docs/"):
        return DOCS_CSP
    return None


class SecurityHeaders:
    """ASGI middleware: adds the CSP and the usual hardening headers to console and docs answers."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        policy = policy_for(scope.get("path", "")) if scope["type"] == "http" else None
        if policy is None:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                headers += [(b"content-security-policy", policy.encode()), (b"x-content-type-options", b"nosniff"),
                            (b"x-frame-options", b"DENY"), (b"referrer-policy", b"same-origin")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
