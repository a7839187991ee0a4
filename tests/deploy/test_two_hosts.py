"""Many hosts, one store: two `tandem serve` processes, each with its own TANDEM_HOME,
behind haproxy running the configuration docs/deployment.md shows. A key and a model
are added from a third process; both hosts answer, a review decided on one is seen on
the other, one host is SIGKILLed and the balancer keeps answering, and every
acknowledged prediction is stored exactly once. PostgreSQL only: SQLite is one
machine's store."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import joblib
import pytest
import sqlalchemy as sa
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from tandem.settings import Settings
from tandem.store import open_store
from tandem.store import tables as t
from tandem.store.base import Store
from tests.conftest import ROOT, TEST_DATABASE_URL, bearer, env_for, free_port, fresh_database
from tests.live import Server

pytestmark = pytest.mark.server

TANDEM = Path(sys.executable).parent / "tandem"
NAMES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
FLOWER = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
PER_PHASE = 100
HOST_ENV = {
    "TANDEM_REVIEW_THRESHOLD": "1.0",  # every prediction also makes a review item
    "TANDEM_HOLDOUT_RATE": "0",
    # Both background jobs every second on both hosts: they take turns through the store.
    "TANDEM_ALERT_INTERVAL_S": "1",
    "TANDEM_COMPACT_INTERVAL_S": "1",
}


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        reason = "haproxy is not installed (scripts/haproxy.sh installs Debian's)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)  # in CI a missing balancer is a broken set-up, not a pass
        pytest.skip(reason)
    return found


def haproxy_config(front: int, hosts: list[int]) -> str:
    """The configuration docs/deployment.md shows, on this test's ports."""
    text = (ROOT / "docs" / "deployment.md").read_text()
    [config] = [b for b in re.findall(r"```haproxy\n(.*?)```", text, re.S) if "tandem_hosts" in b]
    config = config.replace("bind :8080", f"bind 127.0.0.1:{front}")
    for i, port in enumerate(hosts, start=1):
        config = config.replace(f"10.0.0.1{i}:8000", f"127.0.0.1:{port}")
    assert f"127.0.0.1:{front}" in config and "10.0.0." not in config, config
    return config


@contextmanager
def running_haproxy(folder: Path, config: str, port: int) -> Iterator[str]:
    binary = haproxy_binary()
    path = folder / "haproxy.cfg"
    path.write_text(config)
    checked = subprocess.run([binary, "-c", "-f", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    log_path = folder / "haproxy.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(  # -db: in the foreground, as this test's child
            [binary, "-db", "-f", str(path)], stdout=log, stderr=subprocess.STDOUT
        )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def tandem(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(TANDEM), *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def iris_files(folder: Path) -> tuple[Path, Path]:
    iris = load_iris()
    model = LogisticRegression(max_iter=1000).fit(iris.data, iris.target_names[iris.target])
    joblib.dump(model, folder / "iris.joblib")
    (folder / "schema.json").write_text(json.dumps({"features": {n: "number" for n in NAMES}}))
    return folder / "iris.joblib", folder / "schema.json"


def predict(http: httpx.Client) -> httpx.Response:
    return http.post("/v1/predict", json={"model": "iris", "input": FLOWER})


def test_two_hosts_behind_a_load_balancer_share_one_store(tmp_path: Path) -> None:
    if TEST_DATABASE_URL is None:
        pytest.skip(
            "several hosts share one PostgreSQL: set TANDEM_TEST_DATABASE_URL "
            "(scripts/test.sh starts a throwaway one); SQLite is one machine's store"
        )
    haproxy_binary()
    with fresh_database("hosts") as db_url:
        assert db_url is not None
        hosts = [
            Server(Settings(home=tmp_path / f"host{i}" / "home", database_url=db_url), HOST_ENV)
            for i in (1, 2)
        ]
        try:
            _two_hosts(tmp_path, db_url, hosts)
        finally:
            for host in hosts:
                host.stop()


def _two_hosts(tmp_path: Path, db_url: str, hosts: list[Server]) -> None:
    # Both hosts start on an empty store: no key, no model (/healthz answers 503).
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda h: h.start(serving=False), hosts))
    pids = [httpx.get(f"{h.url}/healthz").json()["pid"] for h in hosts]

    # A third process, on a machine of its own (its own TANDEM_HOME), adds a key and a model.
    cli_home = tmp_path / "cli" / "home"
    cli = env_for(Settings(home=cli_home, database_url=db_url))
    key = tandem(cli, "keys", "create", "--role", "admin", "--name", "ops").splitlines()[-1]
    model, schema = iris_files(tmp_path)
    added = tandem(cli, "models", "add", "iris", "--sklearn", str(model), "--schema", str(schema))
    version = re.search(r"version (\w+)", added).group(1)  # type: ignore[union-attr]

    front = free_port()
    config = haproxy_config(front, [h.port for h in hosts])
    acked: list[str] = []
    with (
        running_haproxy(tmp_path, config, front) as balancer,
        httpx.Client(base_url=balancer, headers=bearer(key), timeout=10) as http,
    ):
        # The hosts pick the model up from the store (its artifact was never on their
        # disks); haproxy's health check then puts each in rotation.
        deadline = time.monotonic() + 30
        answered_by: Counter[int] = Counter()
        while set(answered_by) != set(pids):
            assert time.monotonic() < deadline, f"not both hosts in rotation: {answered_by}"
            response = predict(http)
            if response.status_code == 200:
                acked.append(response.json()["id"])
                answered_by[int(response.headers["x-tandem-worker"])] += 1
            else:
                time.sleep(0.2)

        answers = []
        for _ in range(PER_PHASE):
            response = predict(http)
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["model_version"] == version
            acked.append(body["id"])
            answers.append((int(response.headers["x-tandem-worker"]), body))
        by_host = Counter(pid for pid, _ in answers)
        assert set(by_host) == set(pids) and min(by_host.values()) >= PER_PHASE // 4, by_host

        # A review decided through one host is seen through the other.
        review_id = answers[0][1]["review_id"]
        assert review_id
        first, second = (httpx.Client(base_url=h.url, headers=bearer(key)) for h in hosts)
        with first, second:
            decided = first.post(f"/v1/reviews/{review_id}/decision", json={"label": "setosa"})
            assert decided.status_code == 200, decided.text
            seen = second.get(f"/v1/reviews/{review_id}").json()
            assert (seen["status"], seen["label"], seen["reviewer"]) == ("decided", "setosa", "ops")
            assert second.get("/v1/reviews", params={"status": "decided"}).json()["total"] == 1

        # Each host fetched the artifact from the store and keeps a private copy.
        with _store(db_url) as store:
            digest = store.get_model_version("iris", version).artifact_sha256
        for home in [h.settings.home for h in hosts] + [cli_home]:
            copy = home / "artifacts" / digest[:2] / digest
            assert copy.is_file(), copy
            assert stat.S_IMODE(copy.stat().st_mode) == 0o600

        # One host crashes; the balancer's next requests are all answered, by the other.
        killed = hosts[0].kill()
        assert pids[0] in killed
        survivor = []
        for _ in range(PER_PHASE):
            response = predict(http)
            assert response.status_code == 200, response.text
            acked.append(response.json()["id"])
            survivor.append(int(response.headers["x-tandem-worker"]))
        assert set(survivor) == {pids[1]}

    # Every acknowledged prediction is stored, once; nothing unacknowledged is.
    with _store(db_url) as store, store.engine.begin() as conn:  # type: ignore[attr-defined]
        stored = Counter(conn.execute(sa.select(t.predictions.c.id)).scalars())
    assert len(acked) == len(set(acked)) >= 2 * PER_PHASE
    assert stored == Counter(acked)


@contextmanager
def _store(url: str) -> Iterator[Store]:
    store = open_store(url, migrate=False)
    try:
        yield store
    finally:
        store.close()
