"""The web page's plumbing: templates, sessions, CSRF, security headers, the download store, auditing.

Every page goes through :class:`WebSite`: it renders a Jinja2 template (autoescaped,
so a column or class name is always text), adds the headers that keep patient data
out of caches and other sites (``Cache-Control: no-store``, a Content-Security-Policy
that allows nothing but this server, no referrer), and reads or writes the session cookie.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from meddl.report import NOT_FOR_CLINICAL_USE
from meddl.serving.web.sessions import SESSION_COOKIE, SIGNIN_CSRF_COOKIE, Session, SessionSigner

__all__ = ["BASE", "WebSite"]

BASE = "/web"
STATIC = f"{BASE}/static"
PACKAGE_DIR = Path(__file__).resolve().parent
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


class DownloadStore:
    """Prediction CSVs kept in memory for a short while, fetched by a random token (never by patient values)."""

    def __init__(self, *, max_items: int = 32, lifetime_s: float = 15 * 60):
        self._items: OrderedDict[str, tuple[str, bytes, float]] = OrderedDict()
        self._lock = threading.Lock()
        self.max_items, self.lifetime_s = max_items, lifetime_s

    def put(self, user: str, content: bytes) -> str:
        token = secrets.token_urlsafe(18)
        with self._lock:
            self._items[token] = (user, content, time.time() + self.lifetime_s)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
        return token

    def get(self, user: str, token: str) -> bytes | None:
        with self._lock:
            item = self._items.get(token)
        if item is None or item[0] != user or item[2] < time.time():
            return None
        return item[1]


class WebSite:
    """Templates, sessions and downloads of one app (kept in ``app.state.web``)."""

    def __init__(self, *, secret: bytes | None = None, session_lifetime_s: float = 30 * 60):
        import jinja2

        self.environment = jinja2.Environment(loader=jinja2.FileSystemLoader(PACKAGE_DIR / "templates"),
                                              autoescape=True, trim_blocks=True, lstrip_blocks=True)
        self.signer = SessionSigner(secret or secrets.token_bytes(32), lifetime_s=session_lifetime_s)
        self.downloads = DownloadStore()

    # -- sessions ------------------------------------------------------------------
    def session(self, request: Any) -> Session | None:
        return self.signer.loads(request.cookies.get(SESSION_COOKIE))

    @staticmethod
    def _secure(request: Any) -> bool:
        return request.url.scheme == "https"

    def set_session(self, response: Any, request: Any, session: Session | None) -> None:
        if session is None:
            response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict",
                                   secure=self._secure(request))
            return
        response.set_cookie(SESSION_COOKIE, self.signer.dumps(session), max_age=int(self.signer.lifetime_s),
                            path="/", httponly=True, samesite="strict", secure=self._secure(request))

    def set_signin_csrf(self, response: Any, request: Any, token: str) -> None:
        response.set_cookie(SIGNIN_CSRF_COOKIE, token, max_age=3600, path=BASE, httponly=True, samesite="strict",
                            secure=self._secure(request))

    # -- pages ---------------------------------------------------------------------
    def page(self, request: Any, template: str, *, session: Session | None, status_code: int = 200,
             **context: Any) -> Any:
        from fastapi.responses import HTMLResponse

        html = self.environment.get_template(template).render(
            base=BASE, static_url=STATIC, banner=NOT_FOR_CLINICAL_USE.rstrip("."), session=session, **context)
        response = HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
        if session is not None:
            self.set_session(response, request, self.signer.renewed(session))
        return response

    @staticmethod
    def redirect(url: str) -> Any:
        from fastapi.responses import RedirectResponse

        return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)
