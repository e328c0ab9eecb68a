"""Serving: requests/s and latency through ``POST /v1/ask``, and the server's start-up time.

For each mode (extractive, then local with the real SmolLM2) it starts ``app.py`` as its own
process on a fresh data dir and a free port, times it until ``/healthz`` is ready (start-up
includes ingesting the bundled sample), then sends questions from 1, 4 and 16 concurrent
clients. Errors must be 0.

Baseline, measured in the same run: the service's own answering time per request
(``Answer.timings["total"]``); the overhead column is, per request, client latency minus
that time: what serving adds (HTTP, JSON, waiting for a worker thread or the model).

Saved conversations (extractive mode, on SQLite and, when installed, a throwaway PostgreSQL
with fsync on): the same questions with ``conversation_id`` (no history sent, so the server
reads the saved turns, then saves the new one; a new conversation every 10 turns, one per
client) against the same questions without it, measured in the same run. The added cost
is what the server reports in ``Server-Timing`` (``history``: reading the saved turns;
``save``: what saving the turn added to the request, and ``save-cpu``, the thread CPU time of
that); target: the save's p95 < 5 ms. The turn's writes run on the server's writer thread
beside the answering (``ConversationStore.begin_turn``): ``save`` is the wait for the turn's
reservation, if it has not run yet, and handing the answer over; the writes' own CPU (about
1 ms a turn: bench/people.py) shows only in the end-to-end latencies of both, shown beside
it ("saved" against the same questions without a conversation). Under concurrent clients
wall times inside the server include waiting for the CPU (and the GIL) its
answering threads share; the CPU time does not.

Run from the repo root:

    .venv/bin/python bench/serve.py [--requests 48] [--local-requests 8] [--out FILE]
        [--modes extractive local] [--databases sqlite postgresql] [--workers 2]

``--workers 2`` also serves extractive mode with 1 worker and with 2 worker processes on one
real Chroma server (what several workers need) and reports their throughput side by side.
"""

from __future__ import annotations

import argparse
import math
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
from common import REPO, RESULTS, machine_info, print_table, write_json

sys.path.insert(0, str(REPO))
from tests.postgres import create_database, postgres_bin, postgres_cluster

CLIENTS = (1, 4, 16)
SAVED_CLIENTS = (1, 4)
TURNS_PER_CONVERSATION = 10
QUESTIONS = (
    "What concessions did the US offer?",
    "Who led the US delegation?",
    "What did Washington seek in the talks?",
    "Where did the talks take place?",
    "Which Russian bank holds PDVSA accounts?",
    "What is the boiling point of mercury?",  # an abstention costs a request too
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile: an observed value, honest for small samples."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def start_server(
    mode: str, workdir: Path, database_url: str = "", extra: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str, float, Path]:
    """The server process, its URL, and seconds from launch until ``/healthz`` said ready."""
    port = free_port()
    env = {
        **os.environ,
        "CITEQA_MODE": mode,
        "CITEQA_DATA_DIR": str(workdir / "data"),
        "CITEQA_PORT": str(port),
        "CITEQA_API_KEYS": "",
        "CITEQA_UI_USERS": "",
        "CITEQA_ACCESS": "",
        "CITEQA_DATABASE_URL": database_url,
        **(extra or {}),
    }
    log = workdir / "server.log"
    started = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(REPO / "app.py")], cwd=REPO, env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"the {mode} server exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return proc, url, time.perf_counter() - started, log
        except httpx.HTTPError:
            pass
        if time.perf_counter() - started > 300:
            proc.kill()
            raise SystemExit(
                f"the {mode} server was not ready in 300 s:\n{log.read_text()[-3000:]}"
            )
        time.sleep(0.1)


def run_level(url: str, clients: int, requests: int) -> dict[str, Any]:
    """``requests`` questions spread over ``clients`` concurrent connections."""
    local = threading.local()
    latencies: list[float] = []
    service: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=url, timeout=600)
        question = QUESTIONS[i % len(QUESTIONS)]
        began = time.perf_counter()
        try:
            response = local.client.post("/v1/ask", json={"question": question})
            elapsed = time.perf_counter() - began
            ok = response.status_code == 200
            total = float(response.json()["timings"]["total"]) if ok else 0.0
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            with lock:
                errors.append(repr(exc))
            return
        with lock:
            if ok:
                latencies.append(elapsed)
                service.append(total)
            else:
                errors.append(f"HTTP {response.status_code}: {response.text[:200]}")

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(one, range(requests)))
    wall = time.perf_counter() - began
    overhead = [lat - svc for lat, svc in zip(latencies, service, strict=True)]
    return {
        "clients": clients,
        "requests": requests,
        "wall_s": wall,
        "rps": len(latencies) / wall if wall else 0.0,
        "p50_s": percentile(latencies, 0.50) if latencies else None,
        "p95_s": percentile(latencies, 0.95) if latencies else None,
        "service_p50_s": percentile(service, 0.50) if service else None,
        "overhead_p50_s": percentile(overhead, 0.50) if overhead else None,
        "errors": len(errors),
        "error_samples": errors[:3],
    }


def run_saved(url: str, clients: int, requests: int) -> dict[str, Any]:
    """The same questions, each client saving into its own conversations."""
    local = threading.local()
    latencies: list[float] = []
    reads: list[float] = []
    saves: list[float] = []
    cpus: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def conversation() -> str:
        if getattr(local, "turns", TURNS_PER_CONVERSATION) >= TURNS_PER_CONVERSATION:
            local.conversation = local.client.post("/v1/conversations", json={}).json()["id"]
            local.turns = 0
        local.turns += 1
        return str(local.conversation)

    def one(i: int) -> None:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=url, timeout=600)
        body = {"question": QUESTIONS[i % len(QUESTIONS)], "conversation_id": conversation()}
        began = time.perf_counter()
        try:
            response = local.client.post("/v1/ask", json=body)
            elapsed = time.perf_counter() - began
            timing = response.headers.get("server-timing", "")
            ms = dict(m.split(";dur=") for m in timing.split(", ")) if response.is_success else {}
        except (httpx.HTTPError, ValueError) as exc:
            with lock:
                errors.append(repr(exc))
            return
        with lock:
            if response.is_success:
                latencies.append(elapsed)
                reads.append(float(ms["history"]) / 1000)
                saves.append(float(ms["save"]) / 1000)
                cpus.append(float(ms["save-cpu"]) / 1000)
            else:
                errors.append(f"HTTP {response.status_code}: {response.text[:200]}")

    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(one, range(requests)))
    return {
        "clients": clients,
        "requests": requests,
        "p50_s": percentile(latencies, 0.50) if latencies else None,
        "p95_s": percentile(latencies, 0.95) if latencies else None,
        "save_p50_s": percentile(saves, 0.50) if saves else None,
        "save_p95_s": percentile(saves, 0.95) if saves else None,
        "save_max_s": max(saves) if saves else None,
        "save_cpu_p95_s": percentile(cpus, 0.95) if cpus else None,
        "history_p50_s": percentile(reads, 0.50) if reads else None,
        "history_p95_s": percentile(reads, 0.95) if reads else None,
        "errors": len(errors),
        "error_samples": errors[:3],
    }


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Ends a server process: terminate, then kill after 20 s."""
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


def bench_saved(database: str, requests: int) -> dict[str, Any]:
    """Per client level: without conversation_id (baseline), then with it, one server."""
    prefix = f"citeqa-serve-{database}-"
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp, ExitStack() as stack:
        url = ""
        if database == "postgresql":
            url = create_database(stack.enter_context(postgres_cluster(fsync=True)))
        proc, base, _, _ = start_server("extractive", Path(tmp), url)
        try:
            httpx.post(f"{base}/v1/ask", json={"question": QUESTIONS[0]}, timeout=600)
            levels = []
            for clients in SAVED_CLIENTS:
                count = max(requests, clients)
                levels.append(
                    {"without": run_level(base, clients, count),
                     "with": run_saved(base, clients, count)}
                )  # fmt: skip
        finally:
            stop(proc)
    return {"levels": levels}


def bench_mode(mode: str, requests: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"citeqa-serve-{mode}-") as tmp:
        proc, url, startup, _ = start_server(mode, Path(tmp))
        try:
            # One untimed request: the first call pays one-off costs (caches, allocations).
            httpx.post(f"{url}/v1/ask", json={"question": QUESTIONS[0]}, timeout=600)
            levels = [run_level(url, c, max(requests, c)) for c in CLIENTS]
        finally:
            stop(proc)
    return {"startup_s": startup, "levels": levels}


def chroma_server(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A real ``chroma run`` server on a free loopback port (several workers share one)."""
    port = free_port()
    chroma = str(Path(sys.executable).parent / "chroma")
    cmd = [chroma, "run", "--path", str(workdir / "chroma"), "--host", "127.0.0.1",
           "--port", str(port)]  # fmt: skip
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    with (workdir / "chroma.log").open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    stop(proc)
    raise SystemExit(f"chroma run was not ready:\n{(workdir / 'chroma.log').read_text()[-2000:]}")


def bench_workers(most: int, requests: int) -> dict[str, Any]:
    """Extractive mode with 1 worker, then ``most`` workers, on one real Chroma server, each
    on its own collection and data dir (start-up ingests the sample into it)."""
    runs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="citeqa-serve-workers-") as tmp:
        chroma, chroma_url = chroma_server(Path(tmp))
        try:
            for workers in sorted({1, most}):
                workdir = Path(tmp) / f"w{workers}"
                workdir.mkdir()
                extra = {"CITEQA_WORKERS": str(workers), "CITEQA_CHROMA_URL": chroma_url,
                         "CITEQA_COLLECTION": f"workers{workers}"}  # fmt: skip
                proc, url, startup, _ = start_server("extractive", workdir, extra=extra)
                try:
                    for _ in range(2 * workers):  # each worker's first request untimed
                        httpx.post(f"{url}/v1/ask", json={"question": QUESTIONS[0]}, timeout=600)
                    levels = [run_level(url, c, max(requests, c)) for c in CLIENTS]
                finally:
                    stop(proc)
                runs[str(workers)] = {"startup_s": startup, "levels": levels}
        finally:
            stop(chroma)
    return runs


def print_workers(runs: dict[str, Any]) -> None:
    base = {lv["clients"]: lv["rps"] for lv in runs.get("1", {}).get("levels", [])}
    rows = []
    for workers, data in runs.items():
        for level in data["levels"]:
            ms = [1000 * (level[k] or 0.0) for k in ("p50_s", "p95_s")]
            ratio = level["rps"] / base[level["clients"]] if base.get(level["clients"]) else 0.0
            rows.append([workers, level["clients"], level["requests"], level["rps"], ratio, *ms,
                         level["errors"]])  # fmt: skip
    print_table(
        ["workers", "clients", "requests", "req/s", "× 1 worker", "p50 ms", "p95 ms", "errors"],
        rows,
    )
    print("extractive mode, one real Chroma server shared by the workers")


def print_saved(saved: dict[str, Any]) -> None:
    rows = []
    for database, data in saved.items():
        for level in data["levels"]:
            without, with_ = level["without"], level["with"]
            ms = [1000 * (v or 0.0) for v in (
                without["p50_s"], without["p95_s"], with_["p50_s"], with_["p95_s"],
                with_["save_p50_s"], with_["save_p95_s"], with_["save_max_s"],
                with_["save_cpu_p95_s"],
                with_["history_p50_s"], with_["history_p95_s"])]  # fmt: skip
            rows.append([database, with_["clients"], with_["requests"], *ms,
                         without["errors"] + with_["errors"]])  # fmt: skip
    print_table(
        ["database", "clients", "requests", "p50 ms", "p95 ms", "saved p50 ms", "saved p95 ms",
         "save p50 ms", "save p95 ms", "save max ms", "save CPU p95 ms", "history p50 ms",
         "history p95 ms",
         "errors"],
        rows,
    )  # fmt: skip
    print(
        "save = what saving the turn added to the request (target p95 < 5 ms), wall and the "
        "request thread's CPU (the database server's own CPU is not in it); history = reading "
        "the saved turns when the request sends none; all from the server's Server-Timing header"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=48, help="per level, extractive mode")
    parser.add_argument("--local-requests", type=int, default=8, help="per level, local mode")
    parser.add_argument("--modes", nargs="*", default=["extractive", "local"])
    parser.add_argument(
        "--databases", nargs="*", default=["sqlite", "postgresql"],
        help="saved conversations on these databases (postgresql when installed)",
    )  # fmt: skip
    parser.add_argument(
        "--workers", type=int, default=0,
        help="also serve with this many worker processes beside 1, on a Chroma server",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=RESULTS / "serve.json")
    args = parser.parse_args()

    results: dict[str, Any] = {"machine": machine_info(), "modes": {}, "saved": {}}
    for mode in args.modes:
        count = args.local_requests if mode == "local" else args.requests
        print(f"{mode}: starting the server, then {count}+ requests per level …", flush=True)
        results["modes"][mode] = bench_mode(mode, count)
    for database in args.databases:
        if database == "postgresql" and postgres_bin() is None:
            print("postgresql: not installed (apt-get install -y postgresql); skipped")
            continue
        print(f"saved conversations on {database}: {args.requests}+ requests per level …")
        results["saved"][database] = bench_saved(database, args.requests)
    if args.workers:
        print(f"workers 1 and {args.workers} on a Chroma server: {args.requests}+ requests per "
              "level …", flush=True)  # fmt: skip
        results["workers"] = bench_workers(args.workers, args.requests)
    results["machine"]["loadavg_1m_after"] = os.getloadavg()[0]
    write_json(args.out, results)

    rows = []
    for mode, data in results["modes"].items():
        for level in data["levels"]:
            keys = ("p50_s", "p95_s", "service_p50_s", "overhead_p50_s")
            ms = [1000 * (level[k] or 0.0) for k in keys]
            rows.append(
                [mode, level["clients"], level["requests"], level["rps"], *ms, level["errors"],
                 data["startup_s"]]
            )  # fmt: skip
    if rows:
        print_table(
            ["mode", "clients", "requests", "req/s", "p50 ms", "p95 ms", "service p50 ms",
             "overhead p50 ms", "errors", "start-up s"],
            rows,
        )  # fmt: skip
    if results["saved"]:
        print()
        print_saved(results["saved"])
    if results.get("workers"):
        print()
        print_workers(results["workers"])
    print(f"\nwrote {args.out}")
    errors = sum(level["errors"] for d in results["modes"].values() for level in d["levels"])
    errors += sum(
        level["errors"] for d in results.get("workers", {}).values() for level in d["levels"]
    )
    errors += sum(
        level[kind]["errors"]
        for d in results["saved"].values()
        for level in d["levels"]
        for kind in ("without", "with")
    )
    if errors:
        raise SystemExit(f"{errors} requests failed; see error_samples in {args.out}")


if __name__ == "__main__":
    main()
