"""One path for every request that reaches a model: sign-in, role, rate limit, timeout, and its audit row.

The signed-in check, the parsing, the model call and the audit row run in one worker
thread (the database and the model never block the event loop). The row is written
whatever the answer is: success, refusal (401/403/404/429), bad input (422/413/415),
time-out (503), database trouble (503) or failure (500).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable

import anyio
from fastapi import Request
from sqlalchemy.exc import SQLAlchemyError

from meddl.errors import MeddlError
from meddl.serving.input_checks import InvalidInput
from meddl.serving.middleware import BodyTooLarge
from meddl.serving.models import ServedModel
from meddl.serving.security import Refusal, authenticate, require_role
from meddl.serving.users import User

__all__ = ["CallRecord", "TimedOut", "in_model_thread", "model_call", "signed_in"]


class TimedOut(Refusal):
    """A model call that ran past the server's ``request_timeout_s``: 503, with ``reason`` for the audit row.

    Its thread cannot be stopped and finishes in the background; calls queued behind it on the
    same model give up once they have waited as long (:class:`ServedModel`'s ``lock_wait_s``).
    """

    def __init__(self, timeout: float):
        self.reason = f"The model took longer than the server's limit of {timeout} s."
        super().__init__(503, self.reason + " Try fewer records, or ask the administrator to raise the limit.",
                         {"Retry-After": "5"})


@dataclass
class CallRecord:
    """What the audit row needs, filled in as the call gets further."""

    user: User | None = None
    model: ServedModel | None = None
    inputs: Any = None
    n_rows: int | None = None
    rows: list[dict] | None = None  # the answer's rows, summarised in the audit row
    outcome: tuple[Any, BaseException | None] | None = None  # (answer, error) once the call has ended
    settled: bool = False  # its audit row is written
    lock: threading.Lock = field(default_factory=threading.Lock)


def signed_in(request: Request, role: str = "clinician") -> User:
    """The caller (for endpoints that do not reach a model), or :class:`Refusal`. Call it in a worker thread."""
    state = request.app.state
    user = authenticate(request.headers.get("authorization"), state.users, state.settings, state.limiter)
    require_role(user, role)
    return user


def _model_threads(request: Request) -> anyio.CapacityLimiter:
    """This event loop's limiter of the threads that run model calls (``ServeSettings.model_threads``).

    One per event loop (an anyio ``RunVar``): a uvicorn worker has one loop, a test client one per request.
    """
    state = request.app.state
    try:
        return state.model_threads.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(state.settings.model_threads)
        state.model_threads.set(limiter)
        return limiter


def _status_of(exc: BaseException) -> tuple[int, str]:
    if isinstance(exc, (Refusal, InvalidInput)):
        return exc.status_code, str(exc)
    if isinstance(exc, MeddlError):
        return 422, str(exc)
    if isinstance(exc, BodyTooLarge):
        return 413, "request body over the limit"
    if isinstance(exc, SQLAlchemyError):
        return 503, f"database error: {type(exc).__name__}"
    return 500, f"{type(exc).__name__}: {exc}"


def _run(request: Request, name: str, role: str, work: Callable, record: CallRecord) -> Any:
    record.user = signed_in(request, role)
    served = request.app.state.models.get(name)
    if served is None:
        raise Refusal(404, f"No model named {name!r}. Served models: {sorted(request.app.state.models)}.")
    record.model = served
    return work(served, record)


def _audit(request: Request, name: str, record: CallRecord, start: float, status: int, message: str | None) -> None:
    served = record.model
    request.app.state.audit.record(
        endpoint=f"{request.method} {request.url.path}", status=status,
        latency_ms=(time.perf_counter() - start) * 1000, user=getattr(record.user, "name", None),
        model=served.name if served is not None else name,
        weights_sha256=served.weights_sha256 if served is not None else None, inputs=record.inputs,
        n_rows=record.n_rows, output=served.summary(record.rows) if served is not None and record.rows else None,
        message=message)


def _run_and_audit(request: Request, name: str, role: str, work: Callable, record: CallRecord, start: float) -> Any:
    """In a worker thread: the call, then its audit row, unless the event loop already wrote a time-out row."""
    status, message = 200, None
    try:
        record.outcome = (_run(request, name, role, work, record), None)
        return record.outcome[0]
    except BaseException as exc:
        status, message = _status_of(exc)
        record.outcome = (None, exc)
        raise
    finally:
        with record.lock:
            if not record.settled:
                record.settled = True
                _audit(request, name, record, start, status, message)


def _settle_time_out(request: Request, name: str, record: CallRecord, start: float, message: str) -> bool:
    """Write the 503 row, unless the call finished and was audited meanwhile (then True: answer with it)."""
    with record.lock:
        if record.settled:
            return True
        record.settled = True
        _audit(request, name, record, start, 503, message)
        return False


async def in_model_thread(request: Request, function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` in one of the model threads (``ServeSettings.model_threads``), within the time limit.

    The event loop never runs a model: the API (:func:`model_call`) and the web page both come here.

    Raises:
        TimedOut: the call ran past ``request_timeout_s`` (its thread is abandoned and finishes on its own).
    """
    timeout = request.app.state.settings.request_timeout_s
    try:
        with anyio.fail_after(timeout):
            return await anyio.to_thread.run_sync(partial(function, *args), abandon_on_cancel=True,
                                                  limiter=_model_threads(request))
    except TimeoutError:
        raise TimedOut(timeout) from None


async def model_call(request: Request, name: str, work: Callable[[ServedModel, CallRecord], Any], *,
                     role: str = "clinician") -> Any:
    """Run ``work(served_model, record)`` for a signed-in caller within the time limit; audit it whatever happens.

    ``work`` parses the input it closed over, sets ``record.inputs`` / ``record.n_rows`` /
    ``record.rows`` (what the audit row keeps), and returns the answer. The audit row is
    written in the same worker thread as the call (one thread hand-off per request, not
    two); only a time-out is recorded from here, and a lock keeps it to one row either way.
    """
    record, start = CallRecord(), time.perf_counter()
    try:
        return await in_model_thread(request, _run_and_audit, request, name, role, work, record, start)
    except TimedOut as timed_out:
        finished = await anyio.to_thread.run_sync(_settle_time_out, request, name, record, start, timed_out.reason)
        if finished and record.outcome is not None:  # it ended just as the time ran out: give its answer
            result, error = record.outcome
            if error is not None:
                raise error from None
            return result
        raise
