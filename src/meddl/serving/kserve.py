"""The Open Inference Protocol (KServe v2 REST), so KServe and Triton clients can call meddl.

Table models take one tensor per input column (shape ``[n]`` or ``[n, 1]``; ``BYTES`` for
categorical columns), or, when every column is numeric, one tensor ``[n, n_columns]`` in the
schema's column order. Image models take pixels, shape ``[n, H, W]`` or ``[n, H, W, C]``.
Each output field of ``/v1/.../predict`` comes back as one tensor (``FP64``, ``BOOL`` or
``BYTES``; lists are joined with ``"|"``, warnings with ``"; "``). Same sign-in, limits and
audit trail as ``/v1``.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any

import anyio
import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from meddl.version import __version__
from meddl.serving.calls import CallRecord, model_call, signed_in
from meddl.serving.db import database_status
from meddl.serving.input_checks import FieldProblem, InvalidInput
from meddl.serving.models import ServedModel
from meddl.serving.routes import parse_records

__all__ = ["router", "infer_records", "output_tensors"]

router = APIRouter(prefix="/v2", tags=["open inference protocol (KServe v2)"])

_NUMERIC = {"BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64"}


def _tensor(entry: Any, i: int) -> tuple[str, list[int], np.ndarray]:
    if not isinstance(entry, dict) or not {"name", "shape", "datatype", "data"} <= set(entry):
        raise InvalidInput([FieldProblem(f"inputs[{i}]", "Each input tensor needs 'name', 'shape', 'datatype' and "
                                                         "'data'.")])
    shape, datatype = entry["shape"], str(entry["datatype"]).upper()
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise InvalidInput([FieldProblem(f"inputs[{i}].shape", f"must be a list of sizes; got {shape!r:.80}.")])
    if datatype not in _NUMERIC | {"BYTES"}:
        raise InvalidInput([FieldProblem(f"inputs[{i}].datatype", f"{datatype!r} is not a tensor datatype of the "
                                                                  f"protocol.")])
    values = np.asarray(entry["data"], dtype=object).reshape(-1)
    if values.size != int(np.prod(shape)):
        raise InvalidInput([FieldProblem(f"inputs[{i}].data", f"holds {values.size} values but shape {shape} needs "
                                                              f"{int(np.prod(shape))}.")])
    return str(entry["name"]), shape, values.reshape(shape)


def infer_records(served: ServedModel, inputs: Any) -> list[dict]:
    """Turn protocol input tensors into JSON records for a table model (see the module documentation)."""
    if not isinstance(inputs, list) or not inputs:
        raise InvalidInput([FieldProblem("inputs", "Send at least one input tensor.")])
    tensors = [_tensor(entry, i) for i, entry in enumerate(inputs)]
    repeated = sorted(name for name, count in Counter(name for name, _, _ in tensors).items() if count > 1)
    if repeated:  # a later tensor would silently replace the earlier one's values
        raise InvalidInput([FieldProblem("inputs", f"Each input tensor needs its own name; {repeated} appear more "
                                                   f"than once.")])
    names = [spec.name for spec in served.specs]
    if len(tensors) == 1 and tensors[0][2].ndim == 2 and tensors[0][2].shape[1] == len(names) > 1:
        matrix = tensors[0][2]
        return [{name: _plain(value) for name, value in zip(names, row)} for row in matrix]
    columns = {}
    for name, shape, values in tensors:
        if values.ndim > 2 or (values.ndim == 2 and values.shape[1] != 1):
            raise InvalidInput([FieldProblem(f"inputs.{name}", f"A column tensor has shape [n] or [n, 1]; got {shape}.")])
        columns[name] = values.reshape(-1)
    sizes = {len(v) for v in columns.values()}
    if len(sizes) > 1:
        raise InvalidInput([FieldProblem("inputs", f"The column tensors differ in length: "
                                                   f"{ {k: len(v) for k, v in columns.items()} }.")])
    n = sizes.pop()
    return [{name: _plain(values[i]) for name, values in columns.items()} for i in range(n)]


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.generic):
        return value.item()
    return value


def output_tensors(rows: list[dict]) -> list[dict]:
    """One protocol output tensor per answer field (``explanation`` left out; use ``/v1`` for it)."""
    keys = list(dict.fromkeys(k for row in rows for k in row if k != "explanation"))
    tensors = []
    for key in keys:
        values = [row.get(key) for row in rows]
        if all(isinstance(v, bool) or v is None for v in values) and any(v is not None for v in values):
            datatype = "BOOL"
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) or v is None for v in values):
            datatype = "FP64"
        else:
            datatype = "BYTES"
            joiner = "; " if key == "warnings" else "|"
            values = [joiner.join(map(str, v)) if isinstance(v, list) else ("" if v is None else str(v))
                      for v in values]
        tensors.append({"name": key, "shape": [len(rows)], "datatype": datatype, "data": values})
    return tensors


def _metadata(served: ServedModel) -> dict:
    if served.kind == "table":
        inputs = [{"name": s.name, "datatype": "FP64" if s.type == "numeric" else "BYTES", "shape": [-1]}
                  for s in served.specs]
    else:
        inputs = [{"name": "image", "datatype": "FP32", "shape": [-1, *served.run.info["input"]["input_shape"]]}]
    return {"name": served.name, "versions": [served.weights_sha256[:12]], "platform": f"meddl-{served.task}",
            "inputs": inputs, "outputs": [{"name": "see /v1/models/" + served.name, "datatype": "BYTES",
                                           "shape": [-1]}]}


def _infer_work(body: bytes, content_type: str):
    def work(served: ServedModel, record: CallRecord) -> dict:
        request = parse_records(body, content_type, csv=False)
        if not isinstance(request, dict) or "inputs" not in request:
            raise InvalidInput([FieldProblem("inputs", "An inference request is a JSON object with 'inputs'.")])
        record.inputs = request["inputs"] if served.kind == "table" else {
            "sha256": hashlib.sha256(json.dumps(request["inputs"]).encode()).hexdigest()}
        if served.kind == "table":
            records = infer_records(served, request["inputs"])
            record.n_rows = len(records)
            rows = served.recommend_records(records) if served.recommends else served.predict_records(records)
        else:
            _, shape, pixels = _tensor(request["inputs"][0] if request["inputs"] else None, 0)
            try:
                images = pixels.astype(np.float32)
            except (TypeError, ValueError, OverflowError):
                raise InvalidInput([FieldProblem("inputs[0].data", "Pixel values must be numbers.")]) from None
            if images.ndim not in (3, 4) or images.shape[0] > served.max_rows:
                raise InvalidInput([FieldProblem("inputs[0].shape", "Images are [n, H, W] or [n, H, W, C].")])
            if shape[1] * shape[2] > served.max_image_pixels:
                raise InvalidInput([FieldProblem("inputs[0].shape", f"Each image has {shape[1] * shape[2]} pixels; "
                                                                    f"the server's limit is {served.max_image_pixels}."
                                                 )], status_code=413)
            record.n_rows = len(images)
            rows = [served.predict_pixels(image, str(i)) for i, image in enumerate(images)]
        record.rows = rows
        return {"model_name": served.name, "model_version": served.weights_sha256[:12],
                "id": str(request.get("id", "")), "outputs": output_tensors(rows)}
    return work


@router.get("")
async def server_metadata(request: Request) -> dict:
    await anyio.to_thread.run_sync(signed_in, request)
    return {"name": "meddl", "version": __version__, "extensions": []}


@router.get("/health/live")
async def live(request: Request) -> dict:
    await anyio.to_thread.run_sync(signed_in, request)
    return {"live": True}


@router.get("/health/ready")
async def ready(request: Request) -> dict:
    await anyio.to_thread.run_sync(signed_in, request)
    database = await anyio.to_thread.run_sync(database_status, request.app.state.engine)
    return {"ready": bool(request.app.state.models) and database == "reachable"}


@router.get("/models/{name}")
async def model_metadata(request: Request, name: str) -> dict:
    return await model_call(request, name, lambda served, record: _metadata(served))


@router.get("/models/{name}/ready")
async def model_ready(request: Request, name: str) -> dict:
    return await model_call(request, name, lambda served, record: {"name": served.name, "ready": True})


@router.post("/models/{name}/infer")
async def infer(request: Request, name: str) -> JSONResponse:
    body, content_type = await request.body(), request.headers.get("content-type", "")
    return JSONResponse(await model_call(request, name, _infer_work(body, content_type)))
