"""The REST API (``/health``, ``/ready``, ``/v1/...``): each handler parses, calls a ``ServedModel``, answers."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from typing import Any

import anyio
import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from meddl.version import __version__
from meddl.serving.calls import CallRecord, model_call, signed_in
from meddl.serving.db import database_status
from meddl.serving.input_checks import FieldProblem, InvalidInput
from meddl.serving.models import ServedModel

__all__ = ["router", "parse_records"]

router = APIRouter()

_RECORDS_BODY = {
    "description": "One patient as a JSON object of column values, or several as {\"records\": [...]}, or a CSV "
                   "table (text/csv, one patient per row); for an image model, a multipart upload with the image "
                   "in the field 'file' (PNG, JPEG or DICOM).",
    "content": {
        "application/json": {"schema": {"oneOf": [
            {"type": "object", "properties": {"records": {"type": "array", "items": {"type": "object"}}},
             "required": ["records"]},
            {"type": "object", "additionalProperties": True}]},
            "example": {"records": [{"age": 64, "crp": 12.5, "sex": "female"}]}},
        "text/csv": {"schema": {"type": "string"}, "example": "age,crp,sex\n64,12.5,female\n"},
        "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string",
                                                                                    "format": "binary"}}}},
    },
}


def _csv_records(body: bytes) -> list[dict]:
    try:
        frame = pd.read_csv(io.BytesIO(body))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput([FieldProblem("body", f"The body is not a readable CSV table ({exc}).")]) from None
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _media_type(content_type: str) -> str:
    """The media type of a ``Content-Type`` header, lower case, without parameters (``; charset=utf-8``)."""
    return content_type.split(";", 1)[0].strip().lower()


def _is_json(media: str) -> bool:
    # no header at all is read as JSON, as FastAPI reads its own JSON bodies; application/*+json (RFC 6839) is JSON
    return media in ("", "application/json") or (media.startswith("application/") and media.endswith("+json"))


def parse_records(body: bytes, content_type: str = "application/json", *, csv: bool = True) -> Any:
    """The records of a JSON body (``{"records": [...]}``, a list, or one object) or a CSV table, or :class:`InvalidInput`.

    Args:
        body: the request body.
        content_type: the request's ``Content-Type`` header: JSON (``application/json``, with or without parameters,
            or ``application/*+json``), or ``text/csv`` where ``csv`` is true; any other type is a 415, so a
            ``text/plain`` or form-encoded body is never guessed to be JSON.
        csv: whether a CSV table is accepted (the /v1 endpoints) or only JSON (the Open Inference Protocol).
    """
    media = _media_type(content_type)
    if not (_is_json(media) or csv and media == "text/csv"):
        expected = "application/json (or text/csv for a CSV table)" if csv else "application/json"
        raise InvalidInput([FieldProblem("header.content-type", f"The Content-Type header must be {expected}; "
                                                                f"got {content_type!r}.")], 415)
    if not body.strip():
        raise InvalidInput([FieldProblem("body", "The request body is empty; send one patient as a JSON object, or "
                                                 "several as {\"records\": [...]}.")])
    if media == "text/csv":
        return _csv_records(body)
    try:
        data = json.loads(body)
    except RecursionError:  # nesting deeper than the parser's stack: an attack or a broken client, not a patient
        raise InvalidInput([FieldProblem("body", "The body is not usable JSON: its arrays or objects are nested "
                                                 "too deeply. Send records of plain column values.")]) from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, and integers over Python's 4300 digits
        raise InvalidInput([FieldProblem("body", f"The body is not valid JSON ({str(exc)[:200]}).")]) from None
    if isinstance(data, dict) and set(data) == {"records"}:
        if not isinstance(data["records"], list):  # {"records": {...}} is not one patient: say what was sent
            raise InvalidInput([FieldProblem("records", f"'records' must be a list of JSON objects, one per patient, "
                                                        f"with at least one record; got {_json_kind(data['records'])}."
                                             )])
        return data["records"]
    return data


def _json_kind(value: Any) -> str:
    kinds = {dict: "an object", str: "a string", bool: "a boolean", int: "a number", float: "a number",
             type(None): "null"}
    return kinds.get(type(value), type(value).__name__)


async def _upload(request: Request) -> tuple[bytes, str]:
    try:
        form = await request.form(max_files=1, max_fields=4)
    except HTTPException as exc:  # Starlette's 400 for a damaged multipart body, two files, too many fields
        raise InvalidInput([FieldProblem("file", f"The multipart upload cannot be read ({exc.detail}). Send one "
                                                 f"image as multipart form data in the field 'file'.")], 400) from None
    try:
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InvalidInput([FieldProblem("file", "Upload the image as multipart form data in the field 'file'.")])
        return await upload.read(), upload.filename or "upload"
    finally:
        await form.close()


def _table_work(body: bytes, content_type: str, explain: bool, method):
    def work(served: ServedModel, record: CallRecord):
        records = parse_records(body, content_type)
        record.inputs = records
        record.n_rows = len(records) if isinstance(records, list) else 1
        if explain and record.n_rows > served.explain_max_rows:
            raise InvalidInput([FieldProblem("explain", f"explain=true takes at most {served.explain_max_rows} "
                                                        f"records per request; got {record.n_rows}.")], 413)
        if method == "recommend_records":
            record.rows = served.recommend_records(records)
        else:
            record.rows = served.predict_records(records, explain)
        return record.rows
    return work


def _image_work(data: bytes, filename: str, explain: bool):
    def work(served: ServedModel, record: CallRecord):
        record.inputs, record.n_rows = {"file": filename, "sha256": hashlib.sha256(data).hexdigest()}, 1
        record.rows = [served.predict_image(data, filename, explain)]
        return record.rows[0]
    return work


@router.get("/health", tags=["service"])
async def health() -> dict:
    """Liveness: the process answers (no sign-in)."""
    return {"status": "ok"}


@router.get("/ready", tags=["service"])
async def ready(request: Request):
    """Readiness: models loaded and the database reachable with meddl's tables (the audit trail among them)."""
    await anyio.to_thread.run_sync(signed_in, request)
    state = request.app.state
    database = await anyio.to_thread.run_sync(database_status, state.engine)
    body = {"status": "ready" if database == "reachable" and state.models else "not ready",
            "models": sorted(state.models), "database": database, "meddl_version": __version__}
    # still ready: each model answers with the copy checked at the start; but a restart would not serve it
    changed = {name: files for name, model in state.models.items() if (files := model.changed_on_disk())}
    if changed:
        body["changed_on_disk"] = changed
    return JSONResponse(body, status_code=200 if body["status"] == "ready" else 503)


@router.get("/v1/models", tags=["models"])
async def list_models(request: Request) -> list[dict]:
    """The served models: name, task, input kind, weights' SHA-256."""
    await anyio.to_thread.run_sync(signed_in, request)
    return [{"name": m.name, "task": m.task, "input": m.kind, "weights_sha256": m.weights_sha256}
            for m in request.app.state.models.values()]


@router.get("/v1/models/{name}", tags=["models"])
async def describe_model(request: Request, name: str) -> dict:
    """Task, classes, threshold, input schema, metrics with 95% CIs, model card, weights' SHA-256."""
    return await model_call(request, name, lambda served, record: served.describe())


@router.post("/v1/models/{name}/predict", tags=["models"], openapi_extra={"requestBody": _RECORDS_BODY})
async def predict(request: Request, name: str,
                  explain: bool = Query(False, description="add the top attributions (tables) or a Grad-CAM "
                                                           "overlay (images)")):
    """Predict one patient or a batch (JSON records), or one uploaded image."""
    if _media_type(request.headers.get("content-type", "")) == "multipart/form-data":
        data, filename = await _upload(request)
        return JSONResponse(await model_call(request, name, _image_work(data, filename, explain)))
    body, content_type = await request.body(), request.headers.get("content-type", "")
    rows = await model_call(request, name, _table_work(body, content_type, explain, "predict_records"))
    return JSONResponse({"model": name, "predictions": rows})  # already JSON-ready: skip FastAPI's encoder


@router.post("/v1/models/{name}/recommend", tags=["models"], openapi_extra={"requestBody": _RECORDS_BODY})
async def recommend(request: Request, name: str):
    """Treatment models: outcome under each arm, effect with interval, recommended arm or why there is none."""
    body, content_type = await request.body(), request.headers.get("content-type", "")
    rows = await model_call(request, name, _table_work(body, content_type, False, "recommend_records"))
    return JSONResponse({"model": name, "recommendations": rows})


@router.get("/v1/audit", tags=["admin"])
async def audit_rows(request: Request, limit: int = Query(100, ge=1, le=10_000), user: str | None = None,
                     model: str | None = None,
                     since: dt.datetime | None = Query(None, description="ISO date or time (UTC unless it says)"),
                     until: dt.datetime | None = Query(None, description="ISO date or time, excluded")) -> list[dict]:
    """The newest audit rows (admins). ``since`` and ``until`` are parsed, so a mistyped date is a 422, not no rows."""
    await anyio.to_thread.run_sync(signed_in, request, "admin")
    return await anyio.to_thread.run_sync(lambda: request.app.state.audit.latest(limit, user, model, since, until))


@router.get("/v1/audit/verify", tags=["admin"])
async def audit_verify(request: Request) -> dict:
    """Recompute the audit trail's hash chain (admins)."""
    await anyio.to_thread.run_sync(signed_in, request, "admin")
    result = await anyio.to_thread.run_sync(request.app.state.audit.verify)
    return {"ok": result.ok, "n_rows": result.n_rows, "message": result.message}


@router.get("/v1/users", tags=["admin"])
async def users(request: Request) -> list[dict]:
    """Users and roles, never a key or password hash (admins)."""
    await anyio.to_thread.run_sync(signed_in, request, "admin")
    return await anyio.to_thread.run_sync(request.app.state.users.list)
