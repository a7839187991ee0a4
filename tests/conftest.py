"""Shared fixtures: real data, a real store file per test, a model trained once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tandem.app import create_app
from tandem.auth.keys import create_key
from tandem.files import private_dir, write_private
from tandem.location import resolve_database_url
from tandem.models.artifacts import ArtifactStore
from tandem.models.interface import ModelFamily, TrainedArtifact
from tandem.registry.versions import register
from tandem.settings import Settings
from tandem.store import open_store
from tandem.store.base import Store
from tandem_examples.ml_editor.family import family as ml_editor

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("TANDEM_DATA_DIR", ROOT.parent / "shared" / "data"))
"""The examples' data: TANDEM_DATA_DIR, or ../shared/data beside the checkout."""
TANDEM = Path(sys.executable).parent / "tandem"
"""The `tandem` command of the environment running the tests."""


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (DATA_DIR / "stackexchange").is_dir():
        pytest.fail(f"the examples' data is missing at {DATA_DIR}; set TANDEM_DATA_DIR")
    return DATA_DIR


@pytest.fixture(scope="session")
def ml_editor_artifact(data_dir: Path) -> TrainedArtifact:
    """The ML Editor trained once on the real dumps (~2 s of CPU), shared by all tests."""
    return ml_editor.train(data_dir)


TEST_DATABASE_URL = os.environ.get("TANDEM_TEST_DATABASE_URL")
"""A PostgreSQL server to run the suite against (scripts/test.sh starts one); unset:
every test gets its own SQLite file."""


DATABASE_FIXTURES = frozenset({"settings", "_live"})
"""The fixtures that hand a test the test server's database (through fresh_database)."""


def reaches_the_database(item: pytest.Item) -> bool:
    """Whether a test can see TANDEM_TEST_DATABASE_URL's server: through a fixture that
    hands out its database, or because its module uses fresh_database or the URL itself.
    Any other test opens no store but its own SQLite files, so it runs the same with or
    without the server."""
    if DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    module = getattr(item, "module", None)
    return any(hasattr(module, name) for name in ("fresh_database", "TEST_DATABASE_URL"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With a test server (scripts/test.sh's second pass), run only the tests that can
    reach it: the others already ran, unchanged, in the SQLite pass. TANDEM_TEST_ALL=1
    runs every test anyway."""
    if TEST_DATABASE_URL is None or os.environ.get("TANDEM_TEST_ALL") == "1":
        return
    same = [item for item in items if not reaches_the_database(item)]
    if same:
        config.hook.pytest_deselected(items=same)
        items[:] = [item for item in items if reaches_the_database(item)]


@contextmanager
def fresh_database(name: str, template: str | None = None) -> Iterator[str | None]:
    """A new database on the test server (None: use SQLite in the home): empty, or a
    copy of database `template`."""
    if TEST_DATABASE_URL is None:
        yield None
        return
    admin = sa.create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    db = f"t_{name}_{uuid.uuid4().hex[:12]}"
    copy_of = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{db}"{copy_of}'))
    try:
        yield (
            sa.engine.make_url(TEST_DATABASE_URL)
            .set(database=db)
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


@dataclass(frozen=True)
class MigratedStore:
    """A store at the migrations' head, built once per test process: a SQLite file, or a
    database on the test server that each test's database is created from."""

    sqlite_file: Path | None = None
    database: str | None = None


@pytest.fixture(scope="session")
def migrated_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedStore]:
    """Every test's store starts as a copy of this one (a file copy on SQLite, CREATE
    DATABASE ... TEMPLATE on PostgreSQL) instead of running every migration again: that
    cost 50-80 ms a test. A test that checks how Tandem creates its store asks for
    `@pytest.mark.empty_store`; tests/store/ migrates empty stores of its own."""
    if TEST_DATABASE_URL is None:
        home = tmp_path_factory.mktemp("migrated")
        url = resolve_database_url(home, None)
        open_store(url).close()
        leftovers = [p.name for p in home.iterdir() if p.name != "tandem.db"]
        assert not leftovers, f"the closed template store left {leftovers} beside it"
        yield MigratedStore(sqlite_file=home / "tandem.db")
        return
    with fresh_database("template") as url:
        assert url is not None
        open_store(url).close()  # no connection may stay open to a template
        yield MigratedStore(database=sa.engine.make_url(url).database)


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, data_dir: Path) -> Iterator[Settings]:
    """A home and a store of the test's own, already at the migrations' head unless the
    test is marked `empty_store`."""
    empty = request.node.get_closest_marker("empty_store") is not None
    migrated = None if empty else request.getfixturevalue("migrated_store")
    template = migrated.database if migrated else None
    # No holdout sampling and no second opinions unless a test asks: they would route
    # random items to review.
    with fresh_database("test", template) as url:
        settings = Settings(
            home=tmp_path / "home", holdout_rate=0.0, second_opinion_rate=0.0, database_url=url
        )
        if migrated and migrated.sqlite_file:
            private_dir(settings.home)
            write_private(settings.home / "tandem.db", migrated.sqlite_file.read_bytes())
        yield settings


def env_for(settings: Settings) -> dict[str, str]:
    """The environment a `tandem` subprocess needs to see the same store."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
    env["TANDEM_HOME"] = str(settings.home)
    env["TANDEM_DATA_DIR"] = str(DATA_DIR)  # read by the examples, not by Tandem
    if settings.database_url:
        env["TANDEM_DATABASE_URL"] = settings.database_url
    env["TANDEM_SECOND_OPINION_RATE"] = str(settings.second_opinion_rate)
    return env


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    s = open_store(settings.resolved_database_url)
    yield s
    s.close()


@pytest.fixture
def trained_home(settings: Settings, ml_editor_artifact: TrainedArtifact) -> Settings:
    """A TANDEM_HOME whose store has the ML Editor registered as production."""
    register_production(settings, "ml-editor", ml_editor_artifact, ml_editor.card_defaults())
    return settings


def register_production(
    settings: Settings, name: str, trained: TrainedArtifact, card: dict[str, str] | None = None
) -> None:
    """Register `trained` as `name`'s production version in the settings' store."""
    store = open_store(settings.resolved_database_url)
    try:
        register(
            store, ArtifactStore(settings.artifacts_dir), name, trained, card or {}, production=True
        )
    finally:
        store.close()


def make_key(settings: Settings, role: str, name: str | None = None) -> str:
    """A new API key in the settings' store, as `tandem keys create` makes one."""
    store = open_store(settings.resolved_database_url)
    try:
        return create_key(store, role, name or f"test-{role}")[1]
    finally:
        store.close()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@contextmanager
def app_client(
    settings: Settings, families: dict[str, ModelFamily] | None = None, role: str = "admin"
) -> Iterator[TestClient]:
    """An in-process client of a fresh app that sends a `role` key with every request
    (admin by default: it may call everything); its key's name is `test-<role>`."""
    key = make_key(settings, role)
    with TestClient(create_app(settings, families), headers=bearer(key)) as c:
        yield c


@pytest.fixture
def client(trained_home: Settings) -> Iterator[TestClient]:
    """The ML Editor in production; requests carry an admin key named `test-admin`."""
    with app_client(trained_home) as c:
        yield c


@pytest.fixture
def review_client(trained_home: Settings) -> Iterator[TestClient]:
    """Every prediction goes to review (threshold 1.0); requests carry a reviewer key
    named `test-reviewer`, the name recorded on its decisions."""
    settings = trained_home.model_copy(update={"review_threshold": 1.0})
    with app_client(settings, role="reviewer") as c:
        yield c


ANSWER_ONLY = ("review_id", "unusual_features", "highlights", "draft", "revision")
"""Keys of a /v1/predict answer that are not kept with the logged prediction."""

LOOKUP_ONLY = ("final_label", "disagreements", "labels_hidden")
"""Keys of GET /v1/predictions/{id} that come from its labels, not from the answer."""


def as_logged(lookup: dict[str, Any]) -> dict[str, Any]:
    """A prediction lookup without its label keys: what the predict answer logged."""
    return {k: v for k, v in lookup.items() if k not in LOOKUP_ONLY}


QUESTION = {
    "title": "How do I compute a moving average in pandas?",
    "body": "I have a DataFrame of prices.\n\n    df['p'].mean()\n\nHow do I get a 7-day average?",
}


def predict(client: TestClient, payload: dict[str, object] | None = None) -> dict[str, object]:
    response = client.post("/v1/predict", json={"model": "ml-editor", "input": payload or QUESTION})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def predict_digits(client: httpx.Client, n: int, start: int = 0) -> list[dict[str, Any]]:
    """Predictions of the digits model on scikit-learn's scans `start` to `start + n`,
    each answered 200; `client` an app's TestClient or a running server's client."""
    from sklearn.datasets import load_digits

    made = []
    for scan in load_digits().data[start : start + n]:
        pixels = [int(v) for v in scan]
        response = client.post("/v1/predict", json={"model": "digits", "input": {"pixels": pixels}})
        assert response.status_code == 200, response.text
        made.append(response.json())
    return made


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(_live: tuple[str, dict[str, str]]) -> str:
    """The real `tandem serve` in its own process, on a home where `tandem train
    ml-editor` has just put the ML Editor in production (serve itself trains nothing).
    Every prediction goes to review (threshold 1)."""
    return _live[0]


@pytest.fixture(scope="session")
def live_keys(_live: tuple[str, dict[str, str]]) -> dict[str, str]:
    """One key per role for the live server, made with `tandem keys create` while it
    runs (so a key works the moment it is created); each named `live-<role>`."""
    keys = {}
    for role in ("client", "reviewer", "admin"):
        made = subprocess.run(
            [str(TANDEM), "keys", "create", "--role", role, "--name", f"live-{role}"],
            env=_live[1],
            capture_output=True,
            text=True,
            check=True,
        )
        keys[role] = made.stdout.splitlines()[-1]
    return keys


@pytest.fixture(scope="session")
def _live(
    tmp_path_factory: pytest.TempPathFactory, data_dir: Path
) -> Iterator[tuple[str, dict[str, str]]]:
    home = tmp_path_factory.mktemp("live") / "home"
    with fresh_database("live") as db_url:
        # Every prediction to review; none to the holdout or a second opinion (sampled by
        # the random prediction id: 1 run in 20 a reviewer would read a decision blinded).
        settings = Settings(home=home, database_url=db_url, second_opinion_rate=0.0)
        env = {**env_for(settings), "TANDEM_REVIEW_THRESHOLD": "1.0", "TANDEM_HOLDOUT_RATE": "0"}
        port = free_port()
        subprocess.run(
            [str(TANDEM), "train", "ml-editor", "--data", str(data_dir)],
            env=env,
            capture_output=True,
            check=True,
        )
        log_path = home.parent / "serve.log"
        with tandem_serve(env, port, log_path) as proc:
            url = f"http://127.0.0.1:{port}"
            _wait_healthy(proc, url, log_path)
            yield url, env


def tandem_cli(
    env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`tandem ARGS` in its own process, its output captured as text; the caller judges
    the exit status."""
    return subprocess.run(
        [str(TANDEM), *args], env=env, capture_output=True, text=True, timeout=timeout
    )


@contextmanager
def tandem_serve(
    env: dict[str, str], port: int, log_path: Path, *options: str
) -> Iterator[subprocess.Popen[bytes]]:
    """`tandem serve` in its own process, its output in `log_path`; stopped with SIGTERM
    (in-flight requests finish) when the block ends."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(TANDEM), "serve", "--port", str(port), *options],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield proc
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _wait_healthy(proc: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"tandem serve exited: {log_path.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("tandem serve did not become healthy within 120 s")
        time.sleep(0.2)


@pytest.fixture(scope="session")
def digits_artifact(data_dir: Path) -> TrainedArtifact:
    """The digits example trained once (its data ships with scikit-learn)."""
    from tandem_examples.digits.family import family as digits

    return digits.train(data_dir)


@pytest.fixture
def digits_client(trained_home: Settings, digits_artifact: TrainedArtifact) -> Iterator[TestClient]:
    """Both examples in production, every prediction routed to review."""
    from tandem_examples.digits.family import family as digits

    register_production(trained_home, "digits", digits_artifact, digits.card_defaults())
    settings = trained_home.model_copy(update={"review_threshold": 1.0})
    with app_client(settings) as c:
        yield c
