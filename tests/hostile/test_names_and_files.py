"""Model names are short slugs everywhere; local state is private to its owner; the
alert webhook's URL (often a secret) never reaches a log."""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import joblib
import pytest
from fastapi.testclient import TestClient
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from tandem.cli.keys import DEMO_KEYS_FILE, demo_keys
from tandem.cli.main import run
from tandem.monitor.webhook import post_json
from tandem.registry.names import MODEL_NAME_PATTERN
from tandem.settings import Settings
from tandem.store import open_store
from tests.conftest import QUESTION, env_for, free_port

TANDEM = str(Path(sys.executable).parent / "tandem")
CLI_BAD_NAMES = ["", "   ", "../../x", "a/b", "line\nbreak", "m" * 3000, "<b>bold</b>", "Iris"]
BAD_NAMES = [*CLI_BAD_NAMES, "-x", ".hidden", "a" * 65]
GOOD_NAMES = ["0iris-2.1_b", "a" * 64]


@pytest.fixture
def iris_files(tmp_path: Path) -> tuple[Path, Path]:
    iris = load_iris()
    model = LogisticRegression(max_iter=300).fit(iris.data, iris.target_names[iris.target])
    joblib.dump(model, tmp_path / "iris.joblib")
    names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    (tmp_path / "schema.json").write_text(json.dumps({"features": {n: "number" for n in names}}))
    return tmp_path / "iris.joblib", tmp_path / "schema.json"


def _add(
    settings: Settings, name: str, files: tuple[Path, Path], umask: int | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TANDEM, "models", "add", name, "--sklearn", str(files[0]), "--schema", str(files[1])],
        env=env_for(settings),
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=None if umask is None else (lambda: os.umask(umask) and None),  # noqa: PLW1509
    )


@pytest.mark.parametrize("name", CLI_BAD_NAMES, ids=range(len(CLI_BAD_NAMES)))
def test_cli_refuses_a_bad_model_name_in_one_line(
    settings: Settings,
    iris_files: tuple[Path, Path],
    name: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """In process (the console script's entry, `run`), to stay fast; one real process below."""
    for key, value in env_for(settings).items():
        monkeypatch.setenv(key, value)
    args = ["models", "add", name, "--sklearn", str(iris_files[0]), "--schema", str(iris_files[1])]
    monkeypatch.setattr(sys, "argv", ["tandem", *args])
    with pytest.raises(SystemExit) as exited:
        run()
    assert exited.value.code == 2
    _one_line_naming_the_rule(capsys.readouterr().err)
    store = open_store(settings.resolved_database_url)
    try:
        assert store.list_model_versions() == []
    finally:
        store.close()


def test_cli_process_refuses_a_name_with_a_newline(
    settings: Settings, iris_files: tuple[Path, Path]
) -> None:
    result = _add(settings, "iris\nx", iris_files)
    assert result.returncode == 2
    _one_line_naming_the_rule(result.stderr)


def _one_line_naming_the_rule(stderr: str) -> None:
    assert "Traceback" not in stderr
    (line,) = stderr.strip().splitlines()
    assert line.startswith("error: ") and MODEL_NAME_PATTERN in line
    assert len(line) < 400


def test_cli_accepts_good_names(settings: Settings, iris_files: tuple[Path, Path]) -> None:
    for name in GOOD_NAMES:
        result = _add(settings, name, iris_files)
        assert result.returncode == 0, result.stderr
    store = open_store(settings.resolved_database_url)
    try:
        assert {v.name for v in store.list_model_versions()} == set(GOOD_NAMES)
    finally:
        store.close()


def test_cli_help_says_a_joblib_file_runs_code() -> None:
    shown = subprocess.run(
        [TANDEM, "models", "add", "--help"],
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    text = " ".join(re.sub(r"[│╭╮╰╯─]", " ", shown.stdout).split())
    assert "runs code" in text and "Trust only your own files" in text


@pytest.mark.parametrize("name", BAD_NAMES, ids=range(len(BAD_NAMES)))
def test_api_refuses_a_bad_model_name_in_a_body(client: TestClient, name: str) -> None:
    for path, body in (
        ("/v1/predict", {"model": name, "input": QUESTION}),
        ("/v1/replay", {"model": name, "version": "v1"}),
    ):
        response = client.post(path, json=body)
        assert response.status_code == 422, response.text
        assert MODEL_NAME_PATTERN in response.json()["error"]["message"]


def test_api_still_says_which_model_is_unknown(client: TestClient) -> None:
    response = client.post("/v1/predict", json={"model": "nope", "input": QUESTION})
    assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_model"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.empty_store
def test_store_and_artifacts_are_private_whatever_the_umask(
    settings: Settings, iris_files: tuple[Path, Path]
) -> None:
    result = _add(settings, "iris", iris_files, umask=0)
    assert result.returncode == 0, result.stderr
    home = settings.home
    assert _mode(home) == 0o700
    artifacts = [p for p in (home / "artifacts").rglob("*")]
    assert artifacts and _mode(home / "artifacts") == 0o700
    for path in artifacts:
        assert _mode(path) == (0o700 if path.is_dir() else 0o600), path
    if settings.database_url is None:  # SQLite: the file and its WAL companions
        files = [p for p in home.iterdir() if p.name.startswith("tandem.db")]
        assert home / "tandem.db" in files
        for path in files:
            assert _mode(path) == 0o600, path


@pytest.fixture
def no_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_demo_keys_file_is_private_whatever_the_umask(settings: Settings, no_umask: None) -> None:
    home = settings.home / "fresh"
    store = open_store(settings.resolved_database_url)
    try:
        assert demo_keys(store, home)
    finally:
        store.close()
    assert _mode(home) == 0o700
    assert _mode(home / DEMO_KEYS_FILE) == 0o600


class _Refuse(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["content-length"]))
        self.send_response(500)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def failing_hook() -> Iterator[int]:
    server = HTTPServer(("127.0.0.1", 0), _Refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_webhook_url_is_redacted_in_logs(
    failing_hook: int, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "T0KEN-s3cret"
    urls = [
        f"http://hook:{secret}@127.0.0.1:{failing_hook}/services/{secret}?token={secret}",
        f"http://127.0.0.1:{free_port()}/services/{secret}",  # nothing listens there
        f"http://127.0.0.1:{failing_hook}/x%zz{secret}",
    ]
    with caplog.at_level(logging.WARNING, logger="tandem"):
        outcomes = [post_json(url, {"alert": "x"}, timeout_s=2) for url in urls]
    assert outcomes[2] == "failed: HTTP 500 Internal Server Error"
    assert all(o.startswith("failed: ") for o in outcomes)
    assert len(caplog.records) == 3
    for record, outcome in zip(caplog.records, outcomes, strict=True):
        shown = record.getMessage()
        assert secret not in shown and secret not in outcome, shown
        assert shown.startswith("alert webhook http://127.0.0.1:"), shown
