"""Several worker processes behind one port, each with its own listening socket (Linux ``SO_REUSEPORT``).

uvicorn's own ``--workers`` shares one listening socket among the workers, and the first
worker to wake accepts every waiting connection: 16 keep-alive connections opened together
all landed in one of two workers (measured with ``ss -tnp``), so the second worker and its
core stayed idle. With ``SO_REUSEPORT`` every worker listens on its own socket and the kernel
spreads new connections over them by their addresses. This supervisor starts the workers,
stops them all on SIGINT or SIGTERM, and stops the rest when one exits (a service manager
such as systemd then restarts the whole server). Elsewhere than on Linux (where
``SO_REUSEPORT`` does not spread connections), ``meddl serve`` keeps uvicorn's supervisor.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import sys
from multiprocessing.connection import wait
from typing import Any

from meddl.errors import ConfigError

__all__ = ["spreads_connections", "reuse_port_socket", "check_port_free", "run_workers", "APP_FACTORY"]

APP_FACTORY = "meddl.serving.app:app_from_environment"
_BACKLOG = 2048  # uvicorn's default
_STOP_GRACE_S = 30.0


def spreads_connections() -> bool:
    """True where each worker can listen on its own socket and the kernel spreads connections (Linux)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def reuse_port_socket(host: str, port: int, *, listen: bool = True) -> socket.socket:
    """A TCP socket bound to ``host:port`` with ``SO_REUSEPORT`` (several may be bound to the same port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        if listen:
            sock.listen(_BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def check_port_free(host: str, port: int) -> None:
    """Refuse a port something already listens on, before any worker starts.

    The probe binds *without* ``SO_REUSEPORT``: a probe with it would bind beside another
    ``meddl serve`` on the same port, and the kernel would then split the traffic between the
    two servers and their models without a word.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # connections in TIME_WAIT do not count
        try:
            probe.bind((host, port))
        except OSError as error:
            raise ConfigError(f"--port {port}: cannot listen on {host}:{port} ({error.strerror or error}); another "
                              "program (or another meddl serve) is using it. Stop it or choose another --port.") from None


def _serve_one(options: dict[str, Any]) -> None:
    """One worker process: its own socket, then uvicorn serving the app built from the environment."""
    import uvicorn

    config = uvicorn.Config(APP_FACTORY, factory=True, **options)
    sock = reuse_port_socket(config.host, config.port)
    uvicorn.Server(config).run(sockets=[sock])


def run_workers(n_workers: int, options: dict[str, Any]) -> int:
    """Run ``n_workers`` uvicorn processes on ``options["host"]:options["port"]`` until a signal or a worker's exit.

    ``options`` are ``uvicorn.Config`` keyword arguments (host and port included). The
    workers read the runs and settings from the environment (``meddl serve`` writes them).
    Returns 0 after SIGINT / SIGTERM, 1 when a worker exited on its own.
    """
    check_port_free(options["host"], options["port"])  # meddl serve checked too; a direct caller gets it here
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_serve_one, args=(options,), name=f"meddl-worker-{i}")
               for i in range(n_workers)]
    stopping = False

    def stop(signum, _frame):
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for worker in workers:
            worker.start()
        while not stopping and all(worker.is_alive() for worker in workers):
            wait([worker.sentinel for worker in workers], timeout=0.5)
        failed = not stopping
        if failed:
            code = next(w.exitcode for w in workers if not w.is_alive())
            print(f"meddl serve: a worker exited (exit code {code}); stopping the others.", file=sys.stderr)
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        for worker in workers:
            worker.join(_STOP_GRACE_S)
            if worker.is_alive():
                worker.kill()
                worker.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 1 if failed else 0
