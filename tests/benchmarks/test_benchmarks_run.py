"""Every benchmark runs, briefly, so a broken one fails here rather than on the day
someone needs its figures; and the load client's verdict cannot be fooled by refusals.

Each script runs as its users run it (a subprocess, from the repository), with sizes
small enough for a second or two of work each."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import DATA_DIR, ROOT

BENCH = ROOT / "benchmarks"
sys.path.insert(0, str(BENCH))  # the scripts import their harness as a sibling module

from harness import all_answered  # noqa: E402
from loadgen import HOST, LoadResult, run_load  # noqa: E402

TIMEOUT_S = 240


def _run(script: str, *args: str, tmp_path: Path) -> str:
    """Run benchmarks/<script> with `args`; its output, after asserting exit status 0."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
    env.update(TANDEM_DATA_DIR=str(DATA_DIR), TANDEM_HOME=str(tmp_path / "home"))
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{script} exited {done.returncode}:\n{output[-3000:]}"
    return output


LOAD = ("--seconds", "1", "--warmup", "0.3", "--connections", "4", "--questions", "40")


def _saved(output: str) -> dict[str, object]:
    line = next(x for x in output.splitlines() if x.startswith("results: "))
    path = ROOT / line.removeprefix("results: ").strip()
    try:
        doc: dict[str, object] = json.loads(path.read_text())
    finally:
        path.unlink()  # a test run's figures are no one's results
    return doc


def test_serve_benchmark_runs_and_checks_the_log(data_dir: Path, tmp_path: Path) -> None:
    output = _run("serve.py", *LOAD, "--isolation", "thread", tmp_path=tmp_path)
    doc = _saved(output)
    assert doc["passed"] is True
    results = doc["results"]
    assert isinstance(results, dict)
    for name in ("bare", "tandem thread"):
        assert results[name]["errors_total"] == 0
        assert results[name]["measured_requests"] > 0
    assert "OK" in output and "MISMATCH" not in output


def test_load_benchmark_runs_and_checks_the_store(data_dir: Path, tmp_path: Path) -> None:
    output = _run("load.py", *LOAD, "--backends", "sqlite", tmp_path=tmp_path)
    doc = _saved(output)
    assert doc["passed"] is True
    runs = doc["runs"]
    assert isinstance(runs, dict) and set(runs) == {"bare x1", "sqlite x1"}
    check = runs["sqlite x1"]["store_check"]
    assert check["ok"] and check["missing"] == 0 and check["answered_200"] > 0


def test_review_benchmark_runs(tmp_path: Path) -> None:
    output = _run("review.py", "--sizes", "300,900", "--requests", "3", tmp_path=tmp_path)
    assert "| request |" in output
    assert output.count("store checked") == 2  # the seeded store, after each size


def test_concerns_benchmark_runs(tmp_path: Path) -> None:
    output = _run("concerns.py", "--rows", "2000", "--repeat", "1", tmp_path=tmp_path)
    assert "alert check" in output


def test_drift_benchmark_runs(tmp_path: Path) -> None:
    args = ("--rows", "20000", "--ref-rows", "5000", "--features", "3", "--repeat", "1")
    _run("drift.py", *args, "--no-evidently", "--end-to-end", tmp_path=tmp_path)


def test_cli_benchmark_runs(tmp_path: Path) -> None:
    output = _run("cli.py", "--runs", "1", tmp_path=tmp_path)
    assert "import typer" in output


async def _refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer every request with a fast 401, as Tandem answers a keyless one."""
    body = b'{"error": {"code": "unauthorized", "message": "this needs an API key"}}'
    answer = (
        b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            writer.write(answer)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


async def _load_a_refusing_server() -> LoadResult:
    server = await asyncio.start_server(_refuse, HOST, 0)
    port: int = server.sockets[0].getsockname()[1]
    try:
        return await run_load(
            "refuser", port, "/v1/predict", [b"{}"], connections=2, warmup_s=0.1, duration_s=0.4
        )
    finally:
        server.close()


def test_refusals_are_errors_never_throughput() -> None:
    """The load client counts only 2xx answers as served requests: hundreds of quick
    401s measure 0 req/s, and the run does not pass."""
    result = asyncio.run(_load_a_refusing_server())
    assert result.status_counts.get(401, 0) > 10
    assert result.measured == 0 and result.requests_per_s == 0
    assert result.errors_total == sum(result.status_counts.values())
    assert not all_answered([result])


def test_cpu_benchmark_runs(data_dir: Path, tmp_path: Path) -> None:
    args = ("--requests", "200", "--connections", "4", "--questions", "40")
    output = _run("cpu.py", *args, "--isolation", "thread", tmp_path=tmp_path)
    assert "tandem thread" in output and "non-200: 0" in output


def test_middleware_benchmark_runs(data_dir: Path, tmp_path: Path) -> None:
    args = ("--requests", "200", "--rounds", "1", "--questions", "20")
    output = _run("middleware.py", *args, tmp_path=tmp_path)
    doc = _saved(output)
    assert doc["failed"] == 0
    timed = doc["us_per_request"]
    assert isinstance(timed, dict)
    assert set(timed) == {
        "none (baseline)",
        "security headers",
        "intake ledger",
        "same origin",
        "body limit",
        "input gate",
        "all five",
    }
    assert all(us > 0 for us in timed.values())
