"""The pages: sign in and out, the models, one patient, an image, a CSV of patients, the audit trail.

Handlers are short: check the session (and the CSRF token on every POST), call the
served model, hand the result to a template. Patient values travel only in POST
bodies; the URLs hold model names, audit filters and download tokens. The event loop
never waits on a model, a password hash or the database: the asynchronous handlers
(those that read a form) hand that work to threads, the model call through the API's
own path (:func:`meddl.serving.calls.in_model_thread`: the same thread limit and time limit).
"""

from __future__ import annotations

import secrets
import time
from functools import partial
from typing import Any
from urllib.parse import quote

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import Response

from meddl.errors import MeddlError
from meddl.serving.calls import in_model_thread
from meddl.serving.security import ANONYMOUS, Refusal
from meddl.serving.web.answers import answer_view, batch_view, image_view
from meddl.serving.web.audit_page import audit_csv, audit_view
from meddl.serving.web.forms import check_patient_form, field_specs
from meddl.serving.web.overview import model_overview
from meddl.serving.web.sessions import SIGNIN_CSRF_COOKIE, Session, csrf_matches
from meddl.serving.web.site import BASE, WebSite

__all__ = ["build_router"]

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


def _form_columns(model: Any) -> list[dict]:
    """The model's input columns as its schema describes them, each with an example (the training median or mode)."""
    specs = getattr(model, "specs", None)
    if specs:
        return [{**spec.describe(), "example": spec.fill_value} for spec in specs]
    return model.describe()["input"]["columns"]


def _safe_next(value: str | None) -> str:
    """Only a path on this site (never another host) may follow the sign-in."""
    if value and value.startswith(BASE + "/") and not value.startswith("//") and "\\" not in value:
        return value
    return f"{BASE}/models"


def _status_and_problem(exc: Exception) -> tuple[int, str]:
    """A model call's failure on a page: 422 with the library's words, or the server's refusal (503 on time-out)."""
    if isinstance(exc, Refusal):
        return exc.status_code, exc.message
    return 422, str(exc)


def build_router() -> Any:
    """The FastAPI router of the web page (installed by :func:`meddl.serving.web.install_web`)."""
    router = APIRouter(prefix=BASE, include_in_schema=False)

    def site(request: Request) -> WebSite:
        return request.app.state.web

    def signed_in(request: Request) -> Session | None:
        """The session, while its user is still active, with the same role, and not revoked and re-added since."""
        session = site(request).session(request)
        if session is None:
            return None
        if session.user == ANONYMOUS.name and getattr(request.app.state.settings, "insecure_no_auth", False):
            return session
        user = request.app.state.users.active_user(session.user)
        if user is None or user.role != session.role or (user.key_id or "") != session.user_key_id:
            return None
        return session

    def to_signin(request: Request) -> Any:
        return site(request).redirect(f"{BASE}/signin?next={quote(request.url.path)}")

    def refuse(request: Request, session: Session | None, status: int, heading: str, message: str) -> Any:
        return site(request).page(request, "error.html", session=session, status_code=status, title=heading,
                                  heading=heading, message=message)

    async def checked_form(request: Request, session: Session) -> Any:
        form = await request.form()
        if not csrf_matches(session.csrf_token, form.get("csrf_token")):
            return None
        return form

    def overview(model: Any) -> Any:
        return model_overview(model.name, model.run, model.metrics)  # the metrics verified when the run loaded

    def served(request: Request, name: str) -> Any:
        return request.app.state.models.get(name)

    async def signed_in_off_loop(request: Request) -> Session | None:
        return await anyio.to_thread.run_sync(signed_in, request)

    async def audit(request: Request, session: Session, model: Any, endpoint: str, *, started: float, status: int,
                    inputs: Any = None, output: Any = None, n_rows: int | None = None,
                    message: str | None = None) -> None:
        trail = getattr(request.app.state, "audit", None)
        if trail is None:
            return
        await anyio.to_thread.run_sync(partial(
            trail.record, endpoint=endpoint, status=status, latency_ms=(time.perf_counter() - started) * 1000,
            user=session.user, model=model.name, weights_sha256=getattr(model, "weights_sha256", None),
            inputs=inputs, output=output, n_rows=n_rows, message=message))

    # -- sign in / out ---------------------------------------------------------------------------------
    @router.get("/signin")
    def signin_page(request: Request, next: str | None = None):
        token = secrets.token_urlsafe(24)
        response = site(request).page(request, "signin.html", session=None, title="Sign in", csrf_token=token,
                                      next_url=_safe_next(next), user="", error=None,
                                      insecure=getattr(request.app.state.settings, "insecure_no_auth", False))
        site(request).set_signin_csrf(response, request, token)
        return response

    @router.post("/signin")
    async def signin(request: Request):
        form = await request.form()
        user_name, secret = str(form.get("user", "")).strip(), str(form.get("secret", ""))
        next_url = _safe_next(str(form.get("next", "")))
        token = secrets.token_urlsafe(24)
        if not csrf_matches(request.cookies.get(SIGNIN_CSRF_COOKIE), form.get("csrf_token")):
            error = "The sign-in form had expired; please sign in again."
            user = None
        else:
            user = await anyio.to_thread.run_sync(request.app.state.users.authenticate_password, user_name,
                                                  secret) if user_name and secret else None
            if user is None and getattr(request.app.state.settings, "insecure_no_auth", False):
                user = ANONYMOUS  # the demo mode of `meddl serve --insecure-no-auth` (loopback only)
            error = None if user is not None else "Unknown user name or wrong key or password."
        if user is None:
            response = site(request).page(request, "signin.html", session=None, status_code=401, title="Sign in",
                                          csrf_token=token, next_url=next_url, user=user_name, error=error)
            site(request).set_signin_csrf(response, request, token)
            return response
        response = site(request).redirect(next_url)
        site(request).set_session(response, request, site(request).signer.new(user.name, user.role,
                                                                          user_key_id=user.key_id or ""))
        response.delete_cookie(SIGNIN_CSRF_COOKIE, path=BASE)
        return response

    @router.post("/signout")
    async def signout(request: Request):
        session = await signed_in_off_loop(request)
        if session is not None and await checked_form(request, session) is None:
            return refuse(request, session, 403, "Form expired", "Reload the page and try again.")
        response = site(request).redirect(f"{BASE}/signin")
        site(request).set_session(response, request, None)
        return response

    @router.get("")
    @router.get("/")
    def home(request: Request):
        return site(request).redirect(f"{BASE}/models")

    # -- models ----------------------------------------------------------------------------------------
    @router.get("/models")
    def models_page(request: Request):
        session = signed_in(request)
        if session is None:
            return to_signin(request)
        overviews = [overview(model) for model in request.app.state.models.values()]
        return site(request).page(request, "models.html", session=session, title="Models", overviews=overviews)

    # -- one patient -----------------------------------------------------------------------------------
    def patient_page(request: Request, session: Session, model: Any, *, values=None, errors=None, warnings=None,
                     answer=None, status_code: int = 200, problem: str | None = None):
        specs = field_specs(_form_columns(model))
        return site(request).page(
            request, "patient.html", session=session, status_code=status_code, title=f"{model.name}: one patient",
            overview=overview(model), specs=specs, values=values or {}, errors=errors or {},
            warnings=warnings or {}, answer=answer, problem=problem)

    def table_model(request: Request, session: Session, name: str) -> tuple[Any, Any]:
        model = served(request, name)
        if model is None:
            return None, refuse(request, session, 404, "No such model", "This server serves no model of that name.")
        if (model.run.info.get("input") or {}).get("kind") == "image":
            return None, refuse(request, session, 404, "Image model",
                                "This model reads images: use its image upload page.")
        return model, None

    @router.get("/models/{name}/patient")
    def patient_form(request: Request, name: str):
        session = signed_in(request)
        if session is None:
            return to_signin(request)
        model, refusal = table_model(request, session, name)
        return refusal or patient_page(request, session, model)

    @router.post("/models/{name}/patient")
    async def patient_answer(request: Request, name: str):
        session = await signed_in_off_loop(request)
        if session is None:
            return to_signin(request)
        model, refusal = table_model(request, session, name)
        if refusal:
            return refusal
        form = await checked_form(request, session)
        if form is None:
            return refuse(request, session, 403, "Form expired", "Reload the page and enter the patient again.")
        specs = field_specs(_form_columns(model))
        if form.get("action") == "examples":
            values = {s.input_name: str(form.get(s.input_name) or "") or s.example for s in specs}
            return patient_page(request, session, model, values=values)
        check = check_patient_form(specs, form, accept_out_of_range=form.get("predict_anyway") == "yes")
        if not check.ok:
            return patient_page(request, session, model, values=check.values, errors=check.errors,
                                warnings=check.warnings, status_code=422)
        started = time.perf_counter()
        try:
            answer = await in_model_thread(request, answer_view, model, check.record)
        except (MeddlError, Refusal) as exc:
            status, problem = _status_and_problem(exc)
            await audit(request, session, model, "web/patient", started=started, status=status,
                        inputs=check.record, n_rows=1, message=getattr(exc, "reason", problem))
            return patient_page(request, session, model, values=check.values, status_code=status, problem=problem)
        await audit(request, session, model, "web/patient", started=started, status=200, inputs=check.record,
                    output=answer.audit_output, n_rows=1)
        return patient_page(request, session, model, values=check.values, warnings=check.warnings, answer=answer)

    async def read_upload(request: Request, session: Session, kind: str, too_large_hint: str = ""):
        """The uploaded file of a checked form: ``(upload, bytes, error)``; ``upload`` is None for an expired form."""
        form = await checked_form(request, session)
        if form is None:
            return None, b"", None
        upload = form.get("file")
        if upload is None:  # no file field at all: not an expired form (None is kept for that)
            upload = ""
        data = await upload.read(MAX_UPLOAD_BYTES + 1) if hasattr(upload, "read") else b""
        if not data:
            return upload, data, f"Choose {kind} to upload."
        if len(data) > MAX_UPLOAD_BYTES:
            return upload, data, f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB{too_large_hint}."
        return upload, data, None

    # -- many patients ---------------------------------------------------------------------------------
    @router.get("/models/{name}/batch")
    def batch_form(request: Request, name: str):
        session = signed_in(request)
        if session is None:
            return to_signin(request)
        model, refusal = table_model(request, session, name)
        return refusal or site(request).page(request, "batch.html", session=session, title=f"{name}: CSV",
                                             overview=overview(model), result=None, error=None)

    @router.post("/models/{name}/batch")
    async def batch_upload(request: Request, name: str):
        session = await signed_in_off_loop(request)
        if session is None:
            return to_signin(request)
        model, refusal = table_model(request, session, name)
        if refusal:
            return refusal
        upload, data, error = await read_upload(request, session, "a CSV file", "; split it")
        if upload is None:
            return refuse(request, session, 403, "Form expired", "Reload the page and upload the file again.")
        started = time.perf_counter()
        result, status = None, 422
        if error is None:
            try:
                result, status = await in_model_thread(request, batch_view, model, data), 200
            except (MeddlError, Refusal) as exc:
                status, error = _status_and_problem(exc)
        if result is not None:
            result.download_token = site(request).downloads.put(session.user, result.csv_bytes)
        await audit(request, session, model, "web/batch", started=started, status=status,
                    inputs=None if result is None else {"sha256_of_upload": result.upload_sha256},
                    n_rows=None if result is None else result.n_rows, message=error)
        return site(request).page(request, "batch.html", session=session, status_code=status,
                                  title=f"{name}: CSV", overview=overview(model), result=result,
                                  error=error)

    @router.get("/downloads/{token}")
    def download(request: Request, token: str):
        session = signed_in(request)
        if session is None:
            return to_signin(request)
        content = site(request).downloads.get(session.user, token)
        if content is None:
            return refuse(request, session, 404, "Download expired", "Upload the file again to get its predictions.")
        return Response(content, media_type="text/csv", headers={
            "Content-Disposition": 'attachment; filename="predictions.csv"', "Cache-Control": "no-store"})

    # -- images ----------------------------------------------------------------------------------------
    def image_model(request: Request, session: Session, name: str) -> tuple[Any, Any]:
        model = served(request, name)
        if model is None or (model.run.info.get("input") or {}).get("kind") != "image":
            return None, refuse(request, session, 404, "No such image model",
                                "This server serves no image model of that name.")
        return model, None

    @router.get("/models/{name}/image")
    def image_form(request: Request, name: str):
        session = signed_in(request)
        if session is None:
            return to_signin(request)
        model, refusal = image_model(request, session, name)
        return refusal or site(request).page(request, "image.html", session=session, title=f"{name}: image",
                                             overview=overview(model), result=None, error=None)

    @router.post("/models/{name}/image")
    async def image_upload(request: Request, name: str):
        session = await signed_in_off_loop(request)
        if session is None:
            return to_signin(request)
        model, refusal = image_model(request, session, name)
        if refusal:
            return refusal
        upload, data, error = await read_upload(request, session, "a PNG, JPEG or DICOM file")
        if upload is None:
            return refuse(request, session, 403, "Form expired", "Reload the page and upload the image again.")
        started = time.perf_counter()
        result, status = None, 422
        if error is None:
            try:
                result, status = await in_model_thread(request, image_view, model, data,
                                                       getattr(upload, "filename", "") or "upload"), 200
            except (MeddlError, Refusal) as exc:
                status, error = _status_and_problem(exc)
        await audit(request, session, model, "web/image", started=started, status=status,
                    inputs=None if result is None else {"sha256_of_upload": result.upload_sha256},
                    output=None if result is None else result.audit_output, n_rows=1, message=error)
        return site(request).page(request, "image.html", session=session, status_code=status,
                                  title=f"{name}: image", overview=overview(model), result=result,
                                  error=error)

    # -- audit (admins) --------------------------------------------------------------------------------
    def admin(request: Request) -> tuple[Session | None, Any]:
        session = signed_in(request)
        if session is None:
            return None, to_signin(request)
        if session.role != "admin":
            return session, refuse(request, session, 403, "Admins only",
                                   "The audit trail is open to admins only. Ask an admin if you need it.")
        return session, None

    @router.get("/audit")
    def audit_page(request: Request, user: str = "", model: str = "", since: str = "", until: str = ""):
        session, refusal = admin(request)
        if refusal:
            return refusal
        view = audit_view(request.app.state.audit, user=user, model=model, since=since, until=until,
                          model_names=list(request.app.state.models))
        return site(request).page(request, "audit.html", session=session, title="Audit trail", view=view)

    @router.get("/audit.csv")
    def audit_export(request: Request, user: str = "", model: str = "", since: str = "", until: str = ""):
        session, refusal = admin(request)
        if refusal:
            return refusal
        try:
            content = audit_csv(request.app.state.audit, user=user, model=model, since=since, until=until)
        except MeddlError as exc:
            return refuse(request, session, 422, "Check the filters", str(exc))
        return Response(content, media_type="text/csv", headers={
            "Content-Disposition": 'attachment; filename="audit.csv"', "Cache-Control": "no-store"})

    return router
