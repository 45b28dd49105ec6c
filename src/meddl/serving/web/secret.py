"""The key that signs session cookies, shared by every worker process and machine of one server.

``meddl serve --workers N`` runs N processes, and several machines may share one
database behind a load balancer: a cookie signed by one process must be accepted by
all. The key comes from ``MEDDL_WEB_SECRET`` (64 hex digits) when set, else from the
serving database, where the first process to start stores a random one (table
``meddl_web_secret``); rotating it (deleting the row, or changing the variable) signs
everybody out.
"""

from __future__ import annotations

import os
import secrets

import sqlalchemy as sa

from meddl.errors import ConfigError

__all__ = ["SECRET_VARIABLE", "shared_secret"]

SECRET_VARIABLE = "MEDDL_WEB_SECRET"
_METADATA = sa.MetaData()
WEB_SECRET = sa.Table("meddl_web_secret", _METADATA, sa.Column("id", sa.Integer, primary_key=True),
                      sa.Column("secret", sa.String(128), nullable=False))


def _from_environment() -> bytes | None:
    text = os.environ.get(SECRET_VARIABLE, "").strip()
    if not text:
        return None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 32:
        raise ConfigError(f"{SECRET_VARIABLE} must hold at least 64 hex digits (32 bytes); make one with "
                          f"`python -c \"import secrets; print(secrets.token_hex(32))\"`.")
    return key


def shared_secret(engine: sa.Engine | None) -> bytes:
    """The session key: from the environment, else the one stored in the database (created once), else random."""
    key = _from_environment()
    if key is not None:
        return key
    if engine is None:
        return secrets.token_bytes(32)
    try:
        _METADATA.create_all(engine)
    except sa.exc.OperationalError:  # another worker created it at the same moment
        pass
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(WEB_SECRET).values(id=1, secret=secrets.token_hex(32)))
    except sa.exc.IntegrityError:  # already there: every worker reads the first one stored
        pass
    with engine.connect() as connection:
        return bytes.fromhex(connection.execute(sa.select(WEB_SECRET.c.secret).where(WEB_SECRET.c.id == 1))
                             .scalar_one())
