"""``meddl serve``, ``meddl users`` and ``meddl audit``: parse, call the serving API, print.

Kept apart from ``meddl/cli.py`` so the serving extra stays optional: ``meddl`` adds these
commands when FastAPI, uvicorn and SQLAlchemy are installed.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys

from meddl.errors import ConfigError
from meddl.serving.app import INSECURE_WARNING, load_models, named_runs
from meddl.serving.audit import AuditTrail, append_anchor, read_anchors
from meddl.serving.db import DEFAULT_DB_URL, make_engine
from meddl.serving.settings import ServeSettings, write_environment
from meddl.serving.users import ROLES, UserStore
from meddl.serving.workers import APP_FACTORY, check_port_free, run_workers, spreads_connections

__all__ = ["add_serving_commands", "cmd_serve", "cmd_users", "cmd_audit", "parse_run_arguments"]

_DB_HELP = f"database URL (default {DEFAULT_DB_URL}; postgresql://user:password@host/db for several machines)"


def parse_run_arguments(values: list[str]) -> dict[str, str]:
    """``RUN_DIR`` or ``NAME=RUN_DIR`` arguments → ``{name: run folder}``."""
    named, plain = {}, []
    for value in values:
        name, sep, path = value.partition("=")
        if sep and name and path:
            named[name] = path
        else:
            plain.append(value)
    combined = {**named_runs(plain), **named} if plain else dict(named)
    return named_runs(combined)


def _first_admin_hint(db_url: str | None) -> str:
    db = f" --db {db_url}" if db_url else ""
    return (f"meddl serve: no users yet, and the server never answers without sign-in.\n"
            f"Create the first admin (the key is shown once):\n    meddl users add admin --role admin{db}\n"
            f"then start again and send 'Authorization: Bearer <key>'. For a demo on this machine only: "
            f"--insecure-no-auth with --host 127.0.0.1.")


def cmd_serve(args) -> int:
    import uvicorn

    runs = parse_run_arguments(args.runs)
    settings = ServeSettings(db_url=args.db, insecure_no_auth=args.insecure_no_auth, host=args.host,
                             audit_inputs=args.audit_inputs, cors_origins=tuple(args.cors_origin or ()),
                             max_body_bytes=int(args.max_body_mb * 1024 * 1024), max_rows=args.max_rows,
                             max_image_pixels=args.max_image_pixels, rate_limit_per_minute=args.rate_limit,
                             request_timeout_s=args.timeout, runtime=args.runtime, api_docs=not args.no_docs,
                             model_threads=args.model_threads)
    if args.workers < 1:
        raise ConfigError(f"--workers must be at least 1. Got {args.workers}.")
    models = load_models(runs, settings)  # verify every run before any worker starts
    for served in models.values():
        print(f"Serving {served.name!r}: {served.task} on {served.kind}s, weights sha256 {served.weights_sha256[:16]}… "
              f"({served.path})")
    del models
    if UserStore(make_engine(settings.db_url)).count_active() == 0 and not settings.insecure_no_auth:
        print(_first_admin_hint(args.db), file=sys.stderr)
        return 1
    if settings.insecure_no_auth:
        print(INSECURE_WARNING, file=sys.stderr)
    check_port_free(args.host, args.port)
    write_environment(runs, settings)
    os.environ["MEDDL_SERVE_THREADS"] = str(max(1, (os.cpu_count() or 1) // args.workers))
    print(f"API on http://{args.host}:{args.port} ({args.workers} worker(s)); docs at /docs; audit database "
          f"{settings.db_url or DEFAULT_DB_URL}")
    options = {"host": args.host, "port": args.port, "log_level": args.log_level, "proxy_headers": args.proxy_headers,
               "forwarded_allow_ips": args.forwarded_allow_ips, "timeout_keep_alive": 10,
               "access_log": args.access_log}
    if args.workers > 1 and spreads_connections():  # each worker its own socket (see meddl.serving.workers)
        return run_workers(args.workers, options)
    uvicorn.run(APP_FACTORY, factory=True, workers=args.workers, timeout_worker_healthcheck=args.worker_start_timeout,
                **options)
    return 0


def cmd_users(args) -> int:
    store = UserStore(make_engine(args.db))
    if args.users_command == "add":
        key = store.add(args.name, args.role)
        print(f"User {args.name!r} ({args.role}) created. API key (shown once, only its hash is stored):\n{key}")
    elif args.users_command == "list":
        users = store.list()
        if not users:
            print("No users yet: meddl users add NAME --role admin")
        for user in users:
            state = f"revoked {user['revoked']}" if user["revoked"] else "active"
            password = ", password set" if user["has_password"] else ""
            print(f"{user['name']:<24} {user['role']:<10} created {user['created']}  {state}{password}")
    elif args.users_command == "revoke":
        store.revoke(args.name)
        print(f"User {args.name!r} revoked: the key is refused from now on.")
    else:
        password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("New password: ")
        store.set_password(args.name, password)
        print(f"Password set for {args.name!r}.")
    return 0


def cmd_audit(args) -> int:
    trail = AuditTrail(make_engine(args.db, existing=True))  # never a new, empty trail that verifies
    if args.audit_command == "verify":
        try:
            anchors = read_anchors(args.anchors) if args.anchors else []
            result = trail.verify(anchors)
        except ValueError as exc:
            raise ConfigError(f"--anchors: {exc}") from None
        print(result.message)
        return 0 if result.ok else 1
    if args.audit_command == "anchor":
        anchor = trail.anchor()
        if args.out:
            append_anchor(args.out, anchor)
            print(f"Anchored {anchor['n_rows']} audit rows in {args.out}: keep that file where the database's "
                  f"writers cannot change it.")
        else:
            print(json.dumps(anchor, sort_keys=True))
        return 0
    n_rows = trail.export_csv(args.out, since=args.since)
    print(f"Wrote {n_rows} audit rows to {args.out}" + (f" (since {args.since})" if args.since else ""))
    return 0


def add_serving_commands(commands: argparse._SubParsersAction) -> None:
    """Add ``serve``, ``users`` and ``audit`` to the ``meddl`` command."""
    serve = commands.add_parser("serve", help="serve trained runs over HTTP: REST API, sign-in, audit trail")
    serve.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run folders; NAME=RUN_DIR to choose the name")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="worker processes (each loads the models)")
    serve.add_argument("--db", default=None, help=_DB_HELP)
    serve.add_argument("--runtime", choices=["torch", "onnx"], default="torch")
    serve.add_argument("--insecure-no-auth", action="store_true", help="answer without sign-in (loopback only)")
    serve.add_argument("--audit-inputs", action="store_true", help="also store raw input values in the audit trail")
    serve.add_argument("--cors-origin", action="append", help="allow browser calls from this origin (repeatable)")
    serve.add_argument("--max-body-mb", type=float, default=20.0, help="largest request body (default 20 MB)")
    serve.add_argument("--max-rows", type=int, default=10_000, help="records per request (default 10000)")
    serve.add_argument("--max-image-pixels", type=int, default=25_000_000, help="pixels per image (default 25M)")
    serve.add_argument("--rate-limit", type=int, default=600,
                       help="requests per API key per minute in each worker (default 600; 0: none)")
    serve.add_argument("--timeout", type=float, default=30.0, help="seconds a model call may take (default 30)")
    serve.add_argument("--model-threads", type=int, default=1,
                       help="threads per worker that run model calls (default 1: the GIL allows no more speed)")
    serve.add_argument("--worker-start-timeout", type=int, default=120,
                       help="off Linux, seconds a worker may take to answer uvicorn's health ping (importing torch and "
                            "loading the runs on a busy machine takes a while; uvicorn's 5 s restarts them in a loop)")
    serve.add_argument("--no-docs", action="store_true",
                       help="do not serve /docs and /openapi.json (by default they answer without sign-in; no data)")
    serve.add_argument("--access-log", action="store_true",
                       help="log every request line (off by default: the audit trail records each model call)")
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    serve.add_argument("--proxy-headers", action="store_true", help="trust X-Forwarded-* from --forwarded-allow-ips")
    serve.add_argument("--forwarded-allow-ips", default="127.0.0.1", help="proxies trusted for X-Forwarded-*")
    serve.set_defaults(handler=cmd_serve)

    users = commands.add_parser("users", help="add, list and revoke API users of meddl serve")
    actions = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="create a user and print the API key (once)")
    add.add_argument("name")
    add.add_argument("--role", choices=list(ROLES), default="clinician")
    listing = actions.add_parser("list", help="list users (never their keys)")
    revoke = actions.add_parser("revoke", help="revoke a user's key at once")
    revoke.add_argument("name")
    passwd = actions.add_parser("passwd", help="set a password for the web page sign-in")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    for parser in (add, listing, revoke, passwd):
        parser.add_argument("--db", default=None, help=_DB_HELP)
    users.set_defaults(handler=cmd_users)

    audit = commands.add_parser("audit", help="verify or export the audit trail of meddl serve")
    audit_actions = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = audit_actions.add_parser("verify", help="recompute the hash chain; exit 1 if a row was changed or deleted")
    verify.add_argument("--anchors", default=None,
                        help="file of heads written by 'meddl audit anchor --out': the chain must pass through each")
    anchor = audit_actions.add_parser("anchor", help="print the trail's head (row count, last hash), or append it "
                                                     "to --out: kept elsewhere, it pins the history")
    anchor.add_argument("--out", default=None, help="anchors file to append one JSON line to")
    export = audit_actions.add_parser("export", help="write the audit rows to a CSV file")
    export.add_argument("--since", default=None, help="first date or time to export (ISO, UTC), e.g. 2026-12-01")
    export.add_argument("--out", required=True, help="CSV file to write")
    for parser in (verify, anchor, export):
        parser.add_argument("--db", default=None, help=_DB_HELP)
    audit.set_defaults(handler=cmd_audit)
