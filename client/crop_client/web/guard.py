"""What every request passes first: GET and HEAD only, the token, the security headers.

An ASGI middleware in front of the routes. With a token, a request must carry it
as `?token=` (then it is turned into an HttpOnly, SameSite=Strict cookie and a
page is redirected to its address without it, so it leaves the address bar and
the history) or as that cookie; anything else is 401. Every answer carries a
strict Content-Security-Policy (scripts, styles and pictures from this server
only, no inline script, no framing) and sends no Referer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode

from crop_client.web.tokenfile import same

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

COOKIE = "crop_web_token"
COOKIE_AGE = 30 * 86400
ALLOWED = ("GET", "HEAD")
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
UNAUTHORIZED = (b"<!doctype html><meta charset=utf-8><title>Token needed</title>"
                b"<h1>This dashboard needs its token</h1><p>Open the address that "
                b"<code>cropctl web</code> printed (it ends in <code>?token=...</code>), or run "
                b"<code>cropctl web token</code> on the machine it runs on.</p>\n")
# Addresses a browser navigates to: redirected to drop ?token= from the address bar.
NOT_PAGES = ("/api/", "/events", "/static/")


class Guard:
    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token
        self.board: Any = None  # the app's Dashboard, for the server's shutdown

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ALLOWED:
            await _answer(send, 405, b"Only GET and HEAD: this dashboard changes nothing.\n",
                          [(b"allow", b", ".join(m.encode() for m in ALLOWED)),
                           (b"content-type", b"text/plain; charset=utf-8")])
            return
        cookie_header = None
        if self.token is not None:
            query = parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                              keep_blank_values=True)
            given = next((v for k, v in query if k == "token"), None)
            if given is not None and same(given, self.token):
                cookie_header = (b"set-cookie", (
                    f"{COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/; "
                    f"Max-Age={COOKIE_AGE}").encode())
                path = scope["path"]
                if not path.startswith(NOT_PAGES):
                    rest = urlencode([(k, v) for k, v in query if k != "token"])
                    where = path + (f"?{rest}" if rest else "")
                    await _answer(send, 303, b"", [(b"location", where.encode()),
                                                   cookie_header])
                    return
            elif not same(_cookie(scope), self.token):
                await _answer(send, 401, UNAUTHORIZED,
                              [(b"content-type", b"text/html; charset=utf-8")])
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(HEADERS)
                if cookie_header is not None:
                    headers.append(cookie_header)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _cookie(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header is a missing token, not an error
                return None
            if COOKIE in jar:
                return jar[COOKIE].value
    return None


async def _answer(send: Send, status: int, body: bytes,
                  headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, *HEADERS, (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})
