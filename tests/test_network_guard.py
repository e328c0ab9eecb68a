"""The suite-wide guard refuses any connection that is not loopback."""

from __future__ import annotations

import socket

import pytest


def test_non_loopback_connection_is_refused() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        with pytest.raises(ConnectionRefusedError, match="may not reach the network"):
            sock.connect(("192.0.2.1", 9))  # TEST-NET-1: refused before any packet leaves
        assert sock.connect_ex is not None


def test_loopback_is_allowed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=2):
            pass
