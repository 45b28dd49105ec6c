"""Serve trained runs over HTTP: a REST API with sign-in, roles, limits and a hash-chained audit trail.

Start it with ``meddl serve RUN_DIR`` (uvicorn, ``--workers N``), or build the app in Python::

    from meddl.serving import create_app
    app = create_app({"sepsis": "runs/sepsis"}, db_url="sqlite:///meddl-serve.db")

Needs the ``serve`` extra: ``pip install 'meddl[serve]'`` (FastAPI, uvicorn, SQLAlchemy).
"""

from meddl.serving.app import create_app
from meddl.serving.audit import AuditTrail, AuditVerification
from meddl.serving.db import make_engine
from meddl.serving.models import ServedModel
from meddl.serving.settings import ServeSettings
from meddl.serving.users import User, UserStore

__all__ = ["AuditTrail", "AuditVerification", "ServeSettings", "ServedModel", "User", "UserStore", "create_app",
           "make_engine"]
