"""Shared fixtures: real data, a real store file per test, a model trained once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tandem.models.artifacts import ArtifactStore
from tandem.models.interface import TrainedArtifact
from tandem.registry.versions import register
from tandem.serving.app import create_app
from tandem.settings import Settings
from tandem.store import open_store
from tandem.store.base import Store
from tandem_examples.ml_editor.family import family as ml_editor

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = Path(os.environ.get("TANDEM_DATA_DIR", ROOT.parent / "shared" / "data"))
    if not (path / "stackexchange").is_dir():
        pytest.fail(f"the examples' data is missing at {path}; set TANDEM_DATA_DIR")
    return path


@pytest.fixture(scope="session")
def ml_editor_artifact(data_dir: Path) -> TrainedArtifact:
    """The ML Editor trained once on the real dumps (~4 s), shared by all tests."""
    return ml_editor.train(data_dir)


@pytest.fixture
def settings(tmp_path: Path, data_dir: Path) -> Settings:
    # No holdout sampling unless a test asks: it would route random items to review.
    return Settings(home=tmp_path / "home", data_dir=data_dir, holdout_rate=0.0)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    s = open_store(settings.resolved_database_url)
    yield s
    s.close()


@pytest.fixture
def trained_home(settings: Settings, ml_editor_artifact: TrainedArtifact) -> Settings:
    """A TANDEM_HOME whose store has the ML Editor registered as production."""
    s = open_store(settings.resolved_database_url)
    register(
        s,
        ArtifactStore(settings.artifacts_dir),
        "ml-editor",
        ml_editor_artifact,
        ml_editor.card_defaults(),
        production=True,
    )
    s.close()
    return settings


@pytest.fixture
def client(trained_home: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(trained_home)) as c:
        yield c


@pytest.fixture
def review_client(trained_home: Settings) -> Iterator[TestClient]:
    """A client whose every prediction goes to review (threshold 1.0)."""
    settings = trained_home.model_copy(update={"review_threshold": 1.0})
    with TestClient(create_app(settings)) as c:
        yield c


QUESTION = {
    "title": "How do I compute a moving average in pandas?",
    "body": "I have a DataFrame of prices.\n\n    df['p'].mean()\n\nHow do I get a 7-day average?",
}


def predict(client: TestClient, payload: dict[str, object] | None = None) -> dict[str, object]:
    response = client.post("/v1/predict", json={"model": "ml-editor", "input": payload or QUESTION})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Iterator[str]:
    """The real `tandem serve` in its own process, on an empty home: it must train
    the ML Editor first, then serve. Every prediction goes to review (threshold 1)."""
    import subprocess
    import sys
    import time
    import urllib.request

    home = tmp_path_factory.mktemp("live") / "home"
    port = free_port()
    env = {
        **os.environ,
        "TANDEM_HOME": str(home),
        "TANDEM_DATA_DIR": str(data_dir),
        "TANDEM_REVIEW_THRESHOLD": "1.0",
    }
    tandem = Path(sys.executable).parent / "tandem"
    log = (home.parent / "serve.log").open("wb")
    proc = subprocess.Popen(
        [str(tandem), "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"tandem serve exited: {(home.parent / 'serve.log').read_text()}"
                )
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("tandem serve did not become healthy within 120 s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


@pytest.fixture(scope="session")
def digits_artifact(data_dir: Path) -> TrainedArtifact:
    """The digits example trained once (its data ships with scikit-learn)."""
    from tandem_examples.digits.family import family as digits

    return digits.train(data_dir)


@pytest.fixture
def digits_client(trained_home: Settings, digits_artifact: TrainedArtifact) -> Iterator[TestClient]:
    """Both examples in production, every prediction routed to review."""
    from tandem_examples.digits.family import family as digits

    s = open_store(trained_home.resolved_database_url)
    register(
        s,
        ArtifactStore(trained_home.artifacts_dir),
        "digits",
        digits_artifact,
        digits.card_defaults(),
        production=True,
    )
    s.close()
    settings = trained_home.model_copy(update={"review_threshold": 1.0})
    with TestClient(create_app(settings)) as c:
        yield c
