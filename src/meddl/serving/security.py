"""Who is calling, may they, and how often: API-key sign-in, roles, and a per-key rate limit.

Every endpoint but ``/health`` needs ``Authorization: Bearer <key>`` (or, on a loopback
server started with ``--insecure-no-auth``, nothing: the caller is then ``anonymous`` with
the admin role). Clinicians may predict and read model descriptions; admins may also read
the audit trail and the user list.
"""

from __future__ import annotations

import math
import threading
import time

from meddl.serving.settings import ServeSettings
from meddl.serving.users import User, UserStore

__all__ = ["Refusal", "RateLimiter", "authenticate", "require_role", "ANONYMOUS"]

ANONYMOUS = User("anonymous", "admin")


class Refusal(Exception):
    """A request refused before it reaches a model: 401, 403, 404, 429 or 503, with a message and headers."""

    def __init__(self, status_code: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status_code, self.message, self.headers = status_code, message, headers or {}


class RateLimiter:
    """A token bucket per API key: ``per_minute`` requests a minute, bursts up to the same number.

    The buckets live in this process: with N workers a key may make up to N times the
    limit (uvicorn spreads connections over workers). 0 turns the limit off.
    """

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> int | None:
        """None if the request may go ahead (and take a token); else the seconds until one is free."""
        if self.per_minute <= 0:
            return None
        rate = self.per_minute / 60.0
        now = time.monotonic()
        with self._lock:
            tokens, then = self._buckets.get(key, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - then) * rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return None
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / rate))


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def authenticate(authorization: str | None, users: UserStore, settings: ServeSettings,
                 limiter: RateLimiter | None = None) -> User:
    """The signed-in user for an ``Authorization`` header, or :class:`Refusal` (401 / 429)."""
    key = _bearer(authorization)
    if key is None and settings.insecure_no_auth:
        return ANONYMOUS
    challenge = {"WWW-Authenticate": 'Bearer realm="meddl"'}
    if key is None:
        raise Refusal(401, "Sign-in required: send 'Authorization: Bearer <API key>'. An admin creates keys with "
                           "`meddl users add NAME --role clinician`.", challenge)
    user = users.authenticate_key(key)
    if user is None:
        raise Refusal(401, "The API key is not valid: unknown, mistyped or revoked.", challenge)
    if limiter is not None:
        wait = limiter.retry_after(user.name)
        if wait is not None:
            raise Refusal(429, f"Too many requests for user {user.name!r}: the limit is {limiter.per_minute} a "
                               f"minute. Retry after {wait} s.", {"Retry-After": str(wait)})
    return user


def require_role(user: User, role: str) -> None:
    """:class:`Refusal` 403 unless ``user`` has ``role`` (an admin has every role)."""
    if role == "admin" and not user.is_admin:
        raise Refusal(403, f"User {user.name!r} is a {user.role}; this needs the admin role.")
