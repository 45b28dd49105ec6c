"""Users, roles and API keys. Only hashes of keys and passwords are stored.

A key looks like ``mdl_<key id>_<secret>``: the key id (not secret) finds the user's row
in one indexed look-up; the secret is checked against its **scrypt** hash
(``hashlib.scrypt``, n=2**14, r=8, p=1, a 16-byte random salt per user; about 30 ms).
Passwords use the same scrypt. So that a busy server does not pay scrypt on every
request, a verified key is remembered in this process as its SHA-256 next to the stored
hash it matched; the user's row is still read on every request (one indexed look-up through
a driver cursor, about 0.01 ms of CPU on SQLite), so revoking a key takes effect at once in
every worker. A TTL cache of key → user would save that look-up but delay revocation, and a
fast keyed hash (HMAC-SHA256, enough for a 32-byte random secret) would only save the one
scrypt per key and worker that the cache already amortises; neither is worth it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
import threading
from dataclasses import dataclass, field

import sqlalchemy as sa

from meddl.errors import ConfigError
from meddl.serving.db import USERS, driver_cursor

__all__ = ["ROLES", "User", "UserStore"]

ROLES = ("clinician", "admin")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}
_MIN_PASSWORD = 10


@dataclass(frozen=True)
class User:
    """A signed-in user: ``name`` and ``role`` (``clinician`` or ``admin``)."""

    name: str
    role: str
    #: the id of the key this user was added with (new at each ``add``): tells a re-added user from the one
    #: revoked before (not secret: it is the visible part of their API key)
    key_id: str | None = field(default=None, compare=False, repr=False)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _scrypt_hash(secret: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def _scrypt_matches(secret: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, salt, _ = stored.split("$")
    return hmac.compare_digest(_scrypt_hash(secret, base64.b64decode(salt)), stored)


def _key_id(key: str) -> str | None:
    parts = key.split("_")
    if len(parts) != 3 or parts[0] != "mdl" or not parts[1] or not parts[2]:
        return None
    return parts[1]


class UserStore:
    """Add, list and revoke users; check API keys and passwords.

    Example:
        >>> store = UserStore(make_engine("sqlite:///serve.db"))     # doctest: +SKIP
        >>> key = store.add("dr.lee", "clinician")                    # doctest: +SKIP
        >>> store.authenticate_key(key)                               # doctest: +SKIP
        User(name='dr.lee', role='clinician')
    """

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        # Plain SQL on the per-request path (SQLAlchemy's statement building costs more than the look-up).
        self._by_key_id = f"SELECT name, role, key_hash, revoked FROM meddl_users WHERE key_id = {mark}"
        self._verified: dict[str, str] = {}  # sha256(key) -> stored key hash it matched
        self._lock = threading.Lock()

    def add(self, name: str, role: str = "clinician") -> str:
        """Create a user (or give a revoked one a new key) and return the API key: shown once, stored only hashed."""
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigError(f"The user name must be 1 to 64 letters, digits or '._@-', starting with a letter or "
                              f"digit. Got {name!r} instead.")
        if role not in ROLES:
            raise ConfigError(f"The 'role' must be one of {list(ROLES)}. Got {role!r} instead.")
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32).replace("_", "-")
        key = f"mdl_{key_id}_{secret}"
        row = {"name": name, "role": role, "key_id": key_id, "key_hash": _scrypt_hash(secret),
               "password_hash": None, "created": _now(), "revoked": None}
        with self.engine.begin() as connection:
            existing = connection.execute(sa.select(USERS.c.revoked).where(USERS.c.name == name)).first()
            if existing is not None and existing.revoked is None:
                raise ConfigError(f"A user named {name!r} already exists. Revoke it first to issue a new key, or "
                                  f"choose another name.")
            if existing is not None:
                connection.execute(sa.delete(USERS).where(USERS.c.name == name))
            connection.execute(sa.insert(USERS).values(**row))
        return key

    def list(self) -> list[dict]:
        """Every user: name, role, created, revoked (a date or None), has_password. Never a hash."""
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(USERS).order_by(USERS.c.name)).mappings().all()
        return [{"name": r["name"], "role": r["role"], "created": r["created"], "revoked": r["revoked"],
                 "has_password": r["password_hash"] is not None} for r in rows]

    def count_active(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(sa.select(sa.func.count()).select_from(USERS)
                                          .where(USERS.c.revoked.is_(None))).scalar_one())

    def revoke(self, name: str) -> None:
        """Revoke the user's key (and password) at once; the row stays for the audit trail's sake."""
        with self.engine.begin() as connection:
            done = connection.execute(sa.update(USERS).where(USERS.c.name == name, USERS.c.revoked.is_(None))
                                      .values(revoked=_now())).rowcount
        if not done:
            raise ConfigError(f"No active user named {name!r}. Active users: {self._active_names()}.")

    def set_password(self, name: str, password: str) -> None:
        """Let the user also sign in with a password (the web page); at least 10 characters."""
        if not isinstance(password, str) or len(password) < _MIN_PASSWORD:
            raise ConfigError(f"The password must have at least {_MIN_PASSWORD} characters.")
        with self.engine.begin() as connection:
            done = connection.execute(sa.update(USERS).where(USERS.c.name == name, USERS.c.revoked.is_(None))
                                      .values(password_hash=_scrypt_hash(password))).rowcount
        if not done:
            raise ConfigError(f"No active user named {name!r}. Active users: {self._active_names()}.")

    def authenticate_key(self, key: str | None) -> User | None:
        """The active user holding this API key, or None (unknown, malformed or revoked key)."""
        key_id = _key_id(key) if isinstance(key, str) else None
        if key_id is None:
            return None
        with driver_cursor(self.engine) as cursor:
            row = cursor.execute(self._by_key_id, (key_id,)).fetchone()
        if row is None:
            return None
        name, role, key_hash, revoked = row
        if revoked is not None:
            return None
        fingerprint = hashlib.sha256(key.encode("utf-8")).hexdigest()
        if self._verified.get(fingerprint) != key_hash:
            if not _scrypt_matches(key.split("_", 2)[2], key_hash):
                return None
            with self._lock:
                self._verified[fingerprint] = key_hash
        return User(name, role)

    def active_user(self, name: str) -> User | None:
        """The user ``name`` as stored now (their current role), or None when unknown or revoked.

        The web page asks on every request, so that revoking a user (or re-adding them, with another
        role or the same) ends their signed sessions at once, as it does their API key.
        """
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(USERS.c.name, USERS.c.role, USERS.c.key_id, USERS.c.revoked)
                                     .where(USERS.c.name == name)).first()
        return None if row is None or row.revoked is not None else User(row.name, row.role, row.key_id)

    def authenticate_password(self, name: str, secret: str) -> User | None:
        """The active user ``name`` if ``secret`` is their password or their API key; else None."""
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(USERS.c.name, USERS.c.role, USERS.c.password_hash, USERS.c.key_id,
                                               USERS.c.revoked).where(USERS.c.name == name)).first()
        if row is None or row.revoked is not None or not isinstance(secret, str):
            return None
        if _scrypt_matches(secret, row.password_hash):
            return User(row.name, row.role, row.key_id)
        by_key = self.authenticate_key(secret)
        return User(row.name, row.role, row.key_id) if by_key is not None and by_key.name == row.name else None

    def _active_names(self) -> list[str]:
        return [u["name"] for u in self.list() if u["revoked"] is None]
