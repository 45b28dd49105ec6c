"""ASGI middleware: the body-size limit (413) and security headers on every response.

Pure ASGI (no ``BaseHTTPMiddleware``), so it adds microseconds, not a task per request.
The body is counted as it arrives, chunked uploads included, and refused as soon as it
passes the limit, before the app reads it.
"""

from __future__ import annotations

import json

__all__ = ["GuardMiddleware", "BodyTooLarge", "SECURITY_HEADERS"]

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
# JSON answers hold patient data: never cached, never run as a page.
JSON_ONLY_HEADERS = {"cache-control": "no-store", "content-security-policy": "default-src 'none'; frame-ancestors 'none'"}


class BodyTooLarge(Exception):
    """The body passed the limit while it was being read (answered 413)."""


class GuardMiddleware:
    def __init__(self, app, max_body_bytes: int):
        self.app, self.max_body_bytes = app, max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._refuse(scope, send)
            return
        received = 0
        started = False

        async def counted_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge()
            return message

        async def secured_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = dict(SECURITY_HEADERS)
                content_type = next((v for k, v in message.get("headers", []) if k.lower() == b"content-type"), b"")
                if content_type.startswith(b"application/json"):
                    extra.update(JSON_ONLY_HEADERS)
                if scope.get("scheme") == "https":
                    extra["strict-transport-security"] = "max-age=31536000"
                message["headers"] = list(message.get("headers", [])) + [
                    (k.encode(), v.encode()) for k, v in extra.items() if k.encode() not in present]
            await send(message)

        try:
            await self.app(scope, counted_receive, secured_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, send)

    async def _refuse(self, scope, send):
        body = json.dumps({"detail": f"The request body is larger than the server's limit of {self.max_body_bytes} "
                                     f"bytes."}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"connection", b"close")]
        headers += [(k.encode(), v.encode()) for k, v in {**SECURITY_HEADERS, **JSON_ONLY_HEADERS}.items()]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
