"""``create_app``: the FastAPI application that serves trained runs.

The app's state holds only what every worker can rebuild on its own: the loaded
models, the settings and the database handles (users, audit trail). Nothing about a
request outlives it, so ``--workers N`` runs N identical processes and several
machines can run behind any load balancer, sharing one PostgreSQL database.

Example:
    >>> from meddl.serving import create_app                                  # doctest: +SKIP
    >>> app = create_app({"sepsis": "runs/sepsis"}, db_url="sqlite:///serve.db")  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from anyio.lowlevel import RunVar
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from meddl.version import __version__
from meddl.errors import ConfigError
from meddl.serving import kserve, routes
from meddl.serving.audit import AuditTrail
from meddl.serving.db import make_engine
from meddl.serving.errors import install_error_handlers
from meddl.serving.middleware import GuardMiddleware
from meddl.serving.models import ServedModel
from meddl.serving.security import RateLimiter
from meddl.serving.settings import ServeSettings, read_environment
from meddl.serving.users import UserStore
from meddl.serving.web import install_web

__all__ = ["create_app", "app_from_environment", "named_runs", "load_models", "INSECURE_WARNING"]

log = logging.getLogger("meddl.serving")

INSECURE_WARNING = ("meddl serve: WARNING: --insecure-no-auth: every request is answered without sign-in (as "
                    "'anonymous', with the admin role). Use it only for a demo on this machine.")


def named_runs(runs: Mapping[str, str | Path] | Sequence[str | Path] | str | Path) -> dict[str, str]:
    """``{name: run folder}`` from a mapping, or from a list of folders (each named by its folder name)."""
    if isinstance(runs, (str, Path)):
        runs = [runs]
    if isinstance(runs, Mapping):
        named = {str(name): str(path) for name, path in runs.items()}
    else:
        named = {}
        for path in runs:
            name = Path(path).resolve().name
            if name in named:
                raise ConfigError(f"Two runs are named {name!r} ({named[name]!r} and {str(path)!r}); give one a "
                                  f"name: NAME=RUN_DIR.")
            named[name] = str(path)
    if not named:
        raise ConfigError("Give at least one run folder to serve.")
    bad = [name for name in named if not name or "/" in name or name.startswith(".")]
    if bad:
        raise ConfigError(f"Model names must be non-empty and without '/': got {bad}.")
    return named


def load_models(runs: Mapping[str, str], settings: ServeSettings) -> dict[str, ServedModel]:
    """Load and verify every run (a tampered or truncated one raises ``ModelFileError`` naming it)."""
    return {name: ServedModel(name, path, runtime=settings.runtime, max_rows=settings.max_rows,
                              max_image_pixels=settings.max_image_pixels, explain_max_rows=settings.explain_max_rows,
                              lock_wait_s=settings.request_timeout_s)
            for name, path in runs.items()}


def create_app(runs, *, db_url: str | None = None, settings: ServeSettings | None = None,
               insecure_no_auth: bool = False) -> FastAPI:
    """The serving application for ``runs`` (``{name: run folder}`` or a list of folders).

    Args:
        runs: the runs to serve.
        db_url: the users and audit database (overrides ``settings.db_url``).
        settings: limits and options (:class:`ServeSettings`; defaults otherwise).
        insecure_no_auth: answer without sign-in (loopback hosts only).

    Raises:
        ModelFileError: a run folder that is missing, truncated or tampered with.
        ConfigError: bad settings, or a database that cannot be reached.
    """
    settings = settings or ServeSettings()
    overrides = {"db_url": db_url} if db_url is not None else {}
    if insecure_no_auth:
        overrides["insecure_no_auth"] = True
    settings = dataclasses.replace(settings, **overrides) if overrides else settings
    models = load_models(named_runs(runs), settings)
    engine = make_engine(settings.db_url)

    docs = {} if settings.api_docs else {"docs_url": None, "redoc_url": None, "openapi_url": None}
    app = FastAPI(title="meddl", version=__version__, **docs,
                  description="Predictions from trained meddl runs, with sign-in, limits and an audit trail. "
                              "Not for clinical use without local validation.")
    app.state.models = models
    app.state.settings = settings
    app.state.engine = engine
    app.state.users = UserStore(engine)
    app.state.audit = AuditTrail(engine, store_inputs=settings.audit_inputs)
    app.state.limiter = RateLimiter(settings.rate_limit_per_minute)
    app.state.model_threads = RunVar(f"meddl_model_threads_{id(app)}")  # a limiter per event loop (calls.py)
    install_error_handlers(app)
    app.include_router(routes.router)
    app.include_router(kserve.router)
    install_web(app)  # the clinician's web page under /web
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_credentials=False,
                           allow_methods=["GET", "POST"], allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(GuardMiddleware, max_body_bytes=settings.max_body_bytes)
    if settings.insecure_no_auth:
        log.warning(INSECURE_WARNING)
    return app


def app_from_environment() -> FastAPI:
    """The app for one uvicorn worker of ``meddl serve`` (runs and settings from ``MEDDL_SERVE_CONFIG``).

    Each worker uses ``MEDDL_SERVE_THREADS`` torch threads (set by ``meddl serve``: the CPU
    cores divided among the workers), so N workers do not oversubscribe the cores.
    """
    runs, settings = read_environment()
    threads = int(os.environ.get("MEDDL_SERVE_THREADS", "0") or 0)
    if threads > 0:
        torch.set_num_threads(threads)
    return create_app(runs, settings=settings)
