"""Several workers on one port: each listens on its own socket (Linux SO_REUSEPORT), so the kernel spreads connections."""

import select
import socket

import pytest

from meddl.errors import ConfigError
from meddl.serving.workers import check_port_free, reuse_port_socket, spreads_connections

pytestmark = pytest.mark.skipif(not spreads_connections(), reason="SO_REUSEPORT spreads connections on Linux only")


def test_two_listening_sockets_share_one_port_and_both_accept_connections():
    first = reuse_port_socket("127.0.0.1", 0)
    port = first.getsockname()[1]
    second = reuse_port_socket("127.0.0.1", port)
    try:
        accepted = {first: 0, second: 0}
        for _ in range(64):  # the kernel picks a socket by each connection's addresses: both get some
            with socket.create_connection(("127.0.0.1", port)):
                ready, _, _ = select.select([first, second], [], [], 5)
                ready[0].accept()[0].close()
                accepted[ready[0]] += 1
        assert sum(accepted.values()) == 64 and min(accepted.values()) > 0
    finally:
        first.close()
        second.close()


def test_a_port_taken_without_reuse_port_is_refused():
    plain = socket.socket()
    plain.bind(("127.0.0.1", 0))
    plain.listen(1)
    try:
        with pytest.raises(OSError):
            reuse_port_socket("127.0.0.1", plain.getsockname()[1], listen=False)
    finally:
        plain.close()


def test_a_port_another_meddl_serve_listens_on_is_refused_not_shared():
    running = reuse_port_socket("127.0.0.1", 0)          # what a worker of another `meddl serve` holds
    port = running.getsockname()[1]
    try:
        with pytest.raises(ConfigError, match=f"--port {port}: cannot listen on 127.0.0.1:{port}.*another --port"):
            check_port_free("127.0.0.1", port)
    finally:
        running.close()
    check_port_free("127.0.0.1", port)                   # free again
