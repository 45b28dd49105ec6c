"""The audit page's data: the latest requests with filters, the chain verification, the CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

from meddl.errors import DataError

__all__ = ["AuditView", "audit_csv", "audit_view"]

SHOWN_COLUMNS = ("id", "time", "user", "model", "endpoint", "status", "n_rows", "latency_ms", "message")
MAX_ROWS = 200


@dataclass
class AuditView:
    rows: list[dict]
    filters: dict[str, str]
    model_names: list[str]
    chain_ok: bool
    chain_message: str
    errors: dict[str, str] = field(default_factory=dict)
    columns: tuple[str, ...] = SHOWN_COLUMNS


def _day(text: str, name: str, errors: dict[str, str], *, end: bool = False) -> dt.datetime | None:
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        errors[name] = f"Give a date as YYYY-MM-DD. Got {text!r:.40} instead."
        return None
    start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)
    return start + dt.timedelta(days=1) if end else start  # "until" includes the whole day


def _query(trail: Any, user: str, model: str, since: str, until: str, limit: int) -> tuple[list[dict], dict]:
    errors: dict[str, str] = {}
    start, stop = _day(since, "since", errors), _day(until, "until", errors, end=True)
    rows = trail.latest(limit, user=user or None, model=model or None, since=start, until=stop)
    return rows, errors


def audit_view(trail: Any, *, user: str = "", model: str = "", since: str = "", until: str = "",
               model_names: list[str] | None = None) -> AuditView:
    """The newest audit rows matching the filters, and whether the hash chain is intact."""
    rows, errors = _query(trail, user, model, since, until, MAX_ROWS)
    verification = trail.verify()
    return AuditView(rows=rows, filters={"user": user, "model": model, "since": since, "until": until},
                     model_names=sorted(model_names or []), chain_ok=bool(verification.ok),
                     chain_message=str(verification.message), errors=errors)


def audit_csv(trail: Any, *, user: str = "", model: str = "", since: str = "", until: str = "",
              limit: int = 100_000) -> bytes:
    """The matching audit rows (newest first) as CSV bytes, every stored field included.

    Raises:
        DataError: a date filter that is not YYYY-MM-DD (never an export of every row instead).
    """
    rows, errors = _query(trail, user, model, since, until, limit)
    if errors:
        raise DataError(" ".join(f"{name}: {message}" for name, message in errors.items()))
    buffer = io.StringIO()
    names = list(rows[0]) if rows else list(SHOWN_COLUMNS)
    writer = csv.DictWriter(buffer, fieldnames=names)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")
