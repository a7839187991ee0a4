"""benchmarks/writer.py runs, briefly: on SQLite, and on the test server when there is one
(scripts/test.sh's second pass), where it compares the one-statement batch with one
INSERT per table."""

from __future__ import annotations

import json
from pathlib import Path

from tests.benchmarks.test_benchmarks_run import _run
from tests.conftest import ROOT, TEST_DATABASE_URL


def test_writer_benchmark_runs(tmp_path: Path) -> None:
    if TEST_DATABASE_URL is None:
        args = ["--backends", "sqlite"]
        methods = {("sqlite", "one INSERT per table")}
    else:
        args = ["--backends", "postgresql", "--postgresql-url", TEST_DATABASE_URL]
        methods = {("postgresql", "one statement"), ("postgresql", "one INSERT per table")}
    output = _run(
        "writer.py",
        "--batches",
        "5",
        "--sizes",
        "1",
        "3",
        "--questions",
        "20",
        *args,
        tmp_path=tmp_path,
    )
    line = next(x for x in output.splitlines() if x.startswith("results: "))
    path = ROOT / line.removeprefix("results: ").strip()
    try:
        doc = json.loads(path.read_text())
    finally:
        path.unlink()  # a test run's figures are no one's results
    runs = doc["runs"]
    assert {(r["backend"], r["method"]) for r in runs} == methods
    assert sorted({r["entries_per_batch"] for r in runs}) == [1, 3]
    assert all(r["client_us_per_entry"] > 0 and r["wall_ms_per_batch"] > 0 for r in runs)
    if TEST_DATABASE_URL is not None:  # the backend's CPU is read for the writer's connection
        assert all(r["database_us_per_entry"] is not None for r in runs)
