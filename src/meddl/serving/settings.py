"""Server settings: limits, database, sign-in, CORS. Plain data, so every worker process builds the same app.

``meddl serve`` writes the settings and the runs to serve into one environment variable
(``MEDDL_SERVE_CONFIG``, JSON); each uvicorn worker reads it in
:func:`meddl.serving.app.app_from_environment`.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
from dataclasses import dataclass

from meddl.errors import ConfigError

__all__ = ["ServeSettings", "ENVIRONMENT_VARIABLE", "is_loopback", "write_environment", "read_environment"]

ENVIRONMENT_VARIABLE = "MEDDL_SERVE_CONFIG"


@dataclass(frozen=True)
class ServeSettings:
    """Everything a server needs besides the runs. Every limit is per request unless it says otherwise.

    Attributes:
        db_url: SQLAlchemy URL of the users and audit database (default ``sqlite:///meddl-serve.db``).
        insecure_no_auth: answer without credentials (only on a loopback host; warned on every start).
        host: the address the server listens on (checked against ``insecure_no_auth``).
        audit_inputs: also store the raw input values in the audit trail (default: only their SHA-256).
        cors_origins: origins allowed to call from a browser; empty: CORS closed.
        max_body_bytes: larger request bodies get 413.
        max_rows: records per request (413 above).
        max_image_pixels: pixels per uploaded image (413 above).
        rate_limit_per_minute: requests per API key per minute in each worker process (429); 0: no limit.
        request_timeout_s: a model call running longer is answered 503 (the worker finishes it in the background).
        runtime: ``"torch"`` or ``"onnx"`` (diagnosis/regression runs exported with ``meddl export``).
        explain_max_rows: records per request with ``explain=true`` (explanations cost ~200 model calls per row).
        api_docs: serve ``/docs`` and ``/openapi.json`` (the API's description, no data) without sign-in.
        model_threads: threads per worker process that run model calls (and their audit rows); further calls
            wait their turn in the event loop. The calls hold Python's GIL and each model's lock, so more
            threads add no speed: 16 concurrent single-patient calls in 16 threads cost 2.85 ms of CPU each
            (threads handing the GIL and the lock to each other) against 2.1 ms in one thread.
    """

    db_url: str | None = None
    insecure_no_auth: bool = False
    host: str = "127.0.0.1"
    audit_inputs: bool = False
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = 20 * 1024 * 1024
    max_rows: int = 10_000
    max_image_pixels: int = 25_000_000
    rate_limit_per_minute: int = 600
    request_timeout_s: float = 30.0
    runtime: str = "torch"
    explain_max_rows: int = 20
    api_docs: bool = True
    model_threads: int = 1

    def __post_init__(self):
        for name in ("max_body_bytes", "max_rows", "max_image_pixels", "explain_max_rows", "model_threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"The '{name}' setting must be a positive integer. Got {value!r} instead.")
        if isinstance(self.rate_limit_per_minute, bool) or not isinstance(self.rate_limit_per_minute, int) \
                or self.rate_limit_per_minute < 0:
            raise ConfigError(f"The 'rate_limit_per_minute' setting must be an integer >= 0 (0: no limit). "
                              f"Got {self.rate_limit_per_minute!r} instead.")
        if not isinstance(self.request_timeout_s, (int, float)) or not self.request_timeout_s > 0:
            raise ConfigError(f"The 'request_timeout_s' setting must be a number > 0. Got {self.request_timeout_s!r}.")
        if self.runtime not in ("torch", "onnx"):
            raise ConfigError(f"The 'runtime' setting must be 'torch' or 'onnx'. Got {self.runtime!r} instead.")
        object.__setattr__(self, "cors_origins", tuple(self.cors_origins))
        if self.insecure_no_auth and not is_loopback(self.host):
            raise ConfigError(f"--insecure-no-auth is allowed only on a loopback host (127.0.0.1, ::1 or localhost), "
                              f"so that nobody else can reach an open server. Got host {self.host!r}.")

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> ServeSettings:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"Unknown server settings {unknown}; known: {sorted(known)}.")
        return cls(**data)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def write_environment(runs: dict[str, str], settings: ServeSettings, environ=os.environ) -> None:
    """Store the runs and settings for the worker processes (see :func:`read_environment`)."""
    environ[ENVIRONMENT_VARIABLE] = json.dumps({"runs": runs, "settings": settings.to_json()})


def read_environment(environ=os.environ) -> tuple[dict[str, str], ServeSettings]:
    text = environ.get(ENVIRONMENT_VARIABLE)
    if not text:
        raise ConfigError(f"The environment variable {ENVIRONMENT_VARIABLE} is not set; start the server with "
                          f"`meddl serve RUN_DIR`, or build the app with meddl.serving.create_app(...).")
    data = json.loads(text)
    return dict(data["runs"]), ServeSettings.from_json(data["settings"])
