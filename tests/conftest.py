"""Shared fixtures: a network guard for the whole suite, the real embedding model, Chroma."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from qa.config import Settings, offline_env

offline_env()
ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "reuters-2022-03-07-us-venezuela-talks.txt"
SHARED = ROOT.parent / "shared" / "data"
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(address: object) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = str(address[0]) if isinstance(address, tuple) else ""  # type: ignore[index]
    return host in ("localhost", "::1") or host.startswith("127.") or host == "0.0.0.0"


def _guarded(real):  # type: ignore[no-untyped-def]
    def connect(self: socket.socket, address: object):  # type: ignore[no-untyped-def]
        if not _is_loopback(address):
            raise ConnectionRefusedError(f"tests may not reach the network: {address!r}")
        return real(self, address)

    return connect


@pytest.fixture(autouse=True, scope="session")
def no_network() -> Iterator[None]:
    """Fail any connection that is not loopback, for the whole suite."""
    socket.socket.connect = _guarded(_real_connect)  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded(_real_connect_ex)  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 60.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


@pytest.fixture(scope="session")
def embeddings():  # type: ignore[no-untyped-def]
    """The real packaged model, loaded once for the session."""
    from vectorstore.embeddings import shared_embeddings

    return shared_embeddings()


@contextmanager
def server_process(
    cmd: list[str], ready_url: str, log_path: Path, timeout: float = 120
) -> Iterator[None]:
    """Run a server process until the block ends; ready once ``ready_url`` answers."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        )
        try:
            wait_http(ready_url, timeout, proc)
            yield
        finally:
            proc.terminate()
            proc.wait(20)


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``chroma run`` server on a free loopback port."""
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    chroma = str(Path(sys.executable).parent / "chroma")
    cmd = [chroma, "run", "--path", str(path / "db"), "--host", "127.0.0.1", "--port", str(port)]
    with server_process(cmd, f"http://127.0.0.1:{port}/api/v2/heartbeat", path / "server.log"):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(params=["embedded", "server"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Settings:
    """Settings on a fresh data dir; a fresh collection on the shared server in server mode."""
    url = request.getfixturevalue("chroma_server") if backend == "server" else None
    name = f"t{abs(hash(request.node.nodeid)) % 10**10}"
    return Settings(data_dir=tmp_path / "data", chroma_url=url, collection=name, mode="extractive")


@pytest.fixture
def embedded_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", collection="documents", mode="extractive")
