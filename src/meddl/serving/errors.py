"""Error answers: every refusal is JSON with a message a person can act on; bad input is 422, never 500.

``{"detail": [{"field": "records[0].age", "message": "Column 'age' must be numeric ..."}], "error": "..."}``
for bad input (``error`` joins the messages, for Open Inference Protocol clients), and
``{"detail": "..."}`` for refusals (401, 403, 404, 413, 429, 503). When the database cannot be
reached, every request that needs it gets 503: no answer without sign-in and an audit row.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from meddl.errors import MeddlError
from meddl.serving.input_checks import FieldProblem, InvalidInput
from meddl.serving.security import Refusal

__all__ = ["install_error_handlers", "invalid_input_response", "refusal_response"]

log = logging.getLogger("meddl.serving")


def invalid_input_response(exc: InvalidInput) -> JSONResponse:
    detail = [{"field": p.field, "message": p.message} for p in exc.problems]
    return JSONResponse({"detail": detail, "error": str(exc)}, status_code=exc.status_code)


def refusal_response(exc: Refusal) -> JSONResponse:
    return JSONResponse({"detail": exc.message, "error": exc.message}, status_code=exc.status_code,
                        headers=exc.headers)


def _field(location: tuple) -> str:
    parts = [str(p) for p in location]
    if parts and parts[0] in ("query", "path", "header"):
        return ".".join(parts)
    return ".".join(parts[1:]) or "body"


async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = []
    for error in exc.errors():
        field = _field(tuple(error.get("loc", ())))
        if error.get("type") == "json_invalid":
            problems.append(FieldProblem("body", f"The body is not valid JSON ({error.get('msg')})."))
        elif error.get("type") == "missing" and field == "body":
            problems.append(FieldProblem("body", "The request body is empty; send a JSON object."))
        else:
            problems.append(FieldProblem(field, f"{error.get('msg')} (got {error.get('input')!r:.80})."))
    return invalid_input_response(InvalidInput(problems))


async def _invalid(request: Request, exc: InvalidInput) -> JSONResponse:
    return invalid_input_response(exc)


async def _refused(request: Request, exc: Refusal) -> JSONResponse:
    return refusal_response(exc)


async def _library(request: Request, exc: MeddlError) -> JSONResponse:
    return invalid_input_response(InvalidInput([FieldProblem("body", str(exc))]))


async def _database(request: Request, exc: SQLAlchemyError) -> JSONResponse:
    # Without the database nobody can be signed in and nothing can be audited: answer nothing (fail closed).
    log.error("Database error on %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse({"detail": "The users and audit database cannot be reached; nothing was answered or "
                                   "recorded. Try again shortly."}, status_code=503, headers={"Retry-After": "5"})


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("Unexpected error on %s %s", request.method, request.url.path)
    return JSONResponse({"detail": "Internal error; the server log has the details."}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(InvalidInput, _invalid)
    app.add_exception_handler(Refusal, _refused)
    app.add_exception_handler(MeddlError, _library)
    app.add_exception_handler(SQLAlchemyError, _database)
    app.add_exception_handler(Exception, _unexpected)
