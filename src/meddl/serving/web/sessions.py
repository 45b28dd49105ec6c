"""Signed session cookies and CSRF tokens for the web page (standard library only).

A session is a small JSON payload (user, role, CSRF token, expiry) signed with
HMAC-SHA256 and kept in one cookie: HttpOnly (scripts cannot read it),
SameSite=Strict (other sites cannot send it), Secure when the page is served over
HTTPS, and refused by the server once it has expired. Nothing about the patient is
ever stored in it. Each form carries the session's CSRF token, checked on every POST.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

__all__ = ["SESSION_COOKIE", "Session", "SessionSigner", "csrf_matches"]

SESSION_COOKIE = "meddl_session"
SIGNIN_CSRF_COOKIE = "meddl_signin_csrf"


@dataclass(frozen=True)
class Session:
    """Who is signed in, their role, the CSRF token of their forms and when the session ends (Unix seconds)."""

    user: str
    role: str
    csrf_token: str
    expires_at: float
    #: the user's key id when they signed in (``User.key_id``): a session outlives neither a revocation nor a
    #: re-adding of the same name
    user_key_id: str = ""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    """Signs sessions into cookie values and reads them back (``None`` when forged, damaged or expired).

    Args:
        secret: the signing key (at least 32 bytes); a new random key per server start signs
            everybody out when the server restarts, which is the safe default.
        lifetime_s: how long a session lasts after the last page it opened (idle timeout).
    """

    def __init__(self, secret: bytes, *, lifetime_s: float = 30 * 60):
        if len(secret) < 32:
            raise ValueError(f"The session 'secret' must hold at least 32 bytes. Got {len(secret)} instead.")
        self._secret = secret
        self.lifetime_s = float(lifetime_s)

    def new(self, user: str, role: str, *, user_key_id: str = "", now: float | None = None) -> Session:
        return Session(user, role, secrets.token_urlsafe(24), (time.time() if now is None else now) + self.lifetime_s,
                       user_key_id)

    def renewed(self, session: Session, *, now: float | None = None) -> Session:
        return Session(session.user, session.role, session.csrf_token,
                       (time.time() if now is None else now) + self.lifetime_s, session.user_key_id)

    def _signature(self, body: str) -> str:
        return _b64(hmac.new(self._secret, body.encode("ascii"), hashlib.sha256).digest())

    def dumps(self, session: Session) -> str:
        payload = {"u": session.user, "r": session.role, "c": session.csrf_token, "e": round(session.expires_at, 3),
                   "s": session.user_key_id}
        body = _b64(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
        return f"{body}.{self._signature(body)}"

    def loads(self, value: str | None, *, now: float | None = None) -> Session | None:
        if not value or value.count(".") != 1:
            return None
        body, signature = value.split(".")
        if not hmac.compare_digest(signature, self._signature(body)):
            return None
        try:
            payload = json.loads(_unb64(body))
            session = Session(str(payload["u"]), str(payload["r"]), str(payload["c"]), float(payload["e"]),
                              str(payload.get("s", "")))
        except (ValueError, KeyError, TypeError):
            return None
        return session if session.expires_at > (time.time() if now is None else now) else None


def csrf_matches(expected: str | None, received: str | None) -> bool:
    """Constant-time comparison of the session's CSRF token with the one a form sent back."""
    return bool(expected) and bool(received) and hmac.compare_digest(str(expected), str(received))
