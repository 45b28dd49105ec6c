"""The clinician's web page on the served models: sign in, models, one patient, images, CSV, audit.

Server-rendered (Jinja2, autoescaped) with one packaged style sheet and one small
script; no CDN, no external fonts, no JavaScript build. :func:`install_web` adds the
pages under ``/web`` to the app made by :func:`meddl.serving.app.create_app`.
"""

from __future__ import annotations

from typing import Any

from meddl.serving.web.routes import build_router
from meddl.serving.web.secret import shared_secret
from meddl.serving.web.site import PACKAGE_DIR, STATIC, WebSite

__all__ = ["install_web"]


def install_web(app: Any, *, secret: bytes | None = None, session_lifetime_s: float | None = None) -> Any:
    """Mount the web page on ``app`` (``app.state.models``, ``.users`` and ``.audit`` must be set); returns ``app``.

    Args:
        secret: key that signs session cookies; by default ``MEDDL_WEB_SECRET`` or the key kept
            in the serving database (``app.state.engine``), so every worker and machine accepts
            the same sessions (see :mod:`meddl.serving.web.secret`).
        session_lifetime_s: idle time after which a session expires (default 30 minutes, or
            ``app.state.settings.session_lifetime_s`` when the settings have it).
    """
    from fastapi.staticfiles import StaticFiles

    settings = getattr(app.state, "settings", None)
    lifetime = session_lifetime_s or getattr(settings, "session_lifetime_s", None) or 30 * 60
    secret = secret or shared_secret(getattr(app.state, "engine", None))
    app.state.web = WebSite(secret=secret, session_lifetime_s=float(lifetime))
    app.include_router(build_router())
    app.mount(STATIC, StaticFiles(directory=PACKAGE_DIR / "static"), name="meddl-web-static")
    return app


