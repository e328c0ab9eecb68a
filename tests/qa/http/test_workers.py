"""Two server workers on one real Chroma server (issue 9): uploads through one door while
16 clients ask, and every document arrives whole, no request fails, and the workers'
lexical indexes agree afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

QUESTION = "What concessions did the US offer?"
UPLOADS = 16
CLIENTS = 16


def citeqa_env(chroma: str, data: Path, collection: str) -> dict[str, str]:
    return {**os.environ, "CITEQA_CHROMA_URL": chroma, "CITEQA_DATA_DIR": str(data),
            "CITEQA_COLLECTION": collection, "CITEQA_MODE": "extractive"}  # fmt: skip


def upload_all(url: str, folder: Path, errors: list[str], done: threading.Event) -> None:
    try:
        for n in range(UPLOADS):
            text = f"Depot {n} opened its gate number {n} to barges from the lock {n}.\n"
            path = folder / f"depot-{n}.txt"
            path.write_text(f"date 2022-03-{n + 1:02d}\n{text}")
            files = {"files": (path.name, path.read_bytes())}
            response = httpx.post(f"{url}/v1/documents", files=files, timeout=120)
            if response.status_code != 200 or response.json()["results"][0]["status"] != "added":
                errors.append(f"upload {n}: {response.status_code} {response.text[:200]}")
    finally:
        done.set()


def ask_until(url: str, done: threading.Event, errors: list[str], served: set[str]) -> None:
    with httpx.Client(base_url=url, timeout=120) as client:
        while not done.is_set():
            response = client.post("/v1/ask", json={"question": QUESTION})
            served.add(response.headers.get("x-served-by", "?"))
            if response.status_code != 200:
                errors.append(f"ask: {response.status_code} {response.text[:200]}")


@pytest.mark.slow
def test_two_workers_take_uploads_while_sixteen_clients_ask(
    chroma_server: str, tmp_path: Path
) -> None:
    port = free_port()
    env = citeqa_env(chroma_server, tmp_path / "data", "workers")
    cli = str(Path(sys.executable).parent / "citeqa")
    cmd = [cli, "serve", "--workers", "2", "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    errors: list[str] = []
    served: set[str] = set()
    (tmp_path / "files").mkdir()
    with _serving(cmd, env, url, tmp_path / "server.log"):
        done = threading.Event()
        askers = [threading.Thread(target=ask_until, args=(url, done, errors, served))
                  for _ in range(CLIENTS)]  # fmt: skip
        for thread in askers:
            thread.start()
        upload_all(url, tmp_path / "files", errors, done)
        for thread in askers:
            thread.join(120)
        assert errors == [], errors[:5]
        assert len(served) >= 2, "both workers answered"
        # Every worker's lexical index holds every upload: the same answer whoever serves.
        seen: dict[str, set[tuple[str, ...]]] = {}
        for n in range(40):
            body = {"question": f"Which depot opened gate number {n % UPLOADS}?"}
            response = httpx.post(f"{url}/v1/ask", json=body, timeout=60)
            sources = tuple(s["chunk_id"] for s in response.json()["sources"])
            seen.setdefault(str(n % UPLOADS), set()).add(sources)
        assert all(len(variants) == 1 for variants in seen.values()), seen
    listed = subprocess.run([cli, "docs", "list", "--json"], env=env, capture_output=True,
                            text=True, check=True)  # fmt: skip
    assert listed.stdout.count("depot-") >= UPLOADS
    check = subprocess.run([cli, "docs", "check"], env=env, capture_output=True, text=True)
    assert check.returncode == 0 and "0 damaged documents" in check.stdout, check.stderr


class _serving:
    """``server_process`` with the environment the workers need."""

    def __init__(self, cmd: list[str], env: dict[str, str], url: str, log: Path) -> None:
        self.cmd, self.env, self.url, self.log = cmd, env, url, log

    def __enter__(self) -> None:
        self.handle = self.log.open("wb")
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=self.handle,
                                     stderr=subprocess.STDOUT)  # fmt: skip
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-2000:]
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError(self.log.read_text()[-2000:])

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(30)
        self.handle.close()
