"""Where the prediction log's writer runs: a process of its own under `tandem serve`
(uvicorn builds the app with `app_from_env`), a thread in an app built with
create_app, either one when TANDEM_LOG_WRITER says so."""

from __future__ import annotations

import gc
import os

import pytest
from fastapi.testclient import TestClient

from tandem.app import app_from_env, create_app
from tandem.settings import Settings
from tandem.store.writer import GroupCommitWriter
from tandem.store.writer_process import ProcessWriter
from tests.conftest import bearer, env_for, make_key, predict


def _writer(client: TestClient) -> object:
    return client.app.state.store._writer  # type: ignore[attr-defined]


def test_a_server_logs_through_a_writer_process(
    trained_home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [k for k in os.environ if k.startswith("TANDEM_")]:
        monkeypatch.delenv(name)
    for name, value in env_for(trained_home).items():
        if name.startswith("TANDEM_"):
            monkeypatch.setenv(name, value)
    key = make_key(trained_home, "admin")
    try:
        with TestClient(app_from_env(), headers=bearer(key)) as client:
            writer = _writer(client)
            assert isinstance(writer, ProcessWriter)
            assert writer.pid is not None and writer.pid != os.getpid()
            answered = [predict(client)["id"] for _ in range(5)]
            for pid in answered:  # acknowledged = stored, by the other process
                assert client.get(f"/v1/predictions/{pid}").status_code == 200
            child = writer.pid
        with pytest.raises(ProcessLookupError):
            os.kill(child, 0)  # the server's shutdown stopped it
    finally:
        gc.unfreeze()  # app_from_env froze what existed, as a server wants


@pytest.mark.parametrize(
    ("setting", "expected"), [(None, GroupCommitWriter), ("process", ProcessWriter)]
)
def test_an_embedded_app_logs_from_a_thread_unless_told(
    trained_home: Settings, setting: str | None, expected: type
) -> None:
    settings = trained_home.model_copy(update={"log_writer": setting})
    key = make_key(settings, "admin")
    with TestClient(create_app(settings), headers=bearer(key)) as client:
        body = predict(client)
        assert isinstance(_writer(client), expected)
        assert client.get(f"/v1/predictions/{body['id']}").status_code == 200


@pytest.mark.parametrize(
    ("writer", "linger_ms", "expected_s"),
    [
        ("process", None, 0.002),
        ("thread", None, 0.001),
        ("process", 0.0, 0.0),
        ("thread", 5, 0.005),
    ],
)
def test_how_long_a_batch_waits_for_company_is_a_setting(
    trained_home: Settings, writer: str, linger_ms: float | None, expected_s: float
) -> None:
    settings = trained_home.model_copy(update={"log_writer": writer, "log_linger_ms": linger_ms})
    key = make_key(settings, "admin")
    with TestClient(create_app(settings), headers=bearer(key)) as client:
        assert _writer(client).linger_s == pytest.approx(expected_s)  # type: ignore[attr-defined]
        body = predict(client)
        assert client.get(f"/v1/predictions/{body['id']}").status_code == 200


def test_a_bad_writer_setting_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from tandem.errors import InvalidInput
    from tandem.settings import load_settings

    monkeypatch.setenv("TANDEM_LOG_WRITER", "fork")
    with pytest.raises(
        InvalidInput, match="TANDEM_LOG_WRITER=.fork.: Input should be .process. or .thread."
    ):
        load_settings()
    monkeypatch.setenv("TANDEM_LOG_WRITER", "process")
    monkeypatch.setenv("TANDEM_LOG_LINGER_MS", "-1")
    with pytest.raises(InvalidInput, match="TANDEM_LOG_LINGER_MS=.-1.: Input should be greater"):
        load_settings()
