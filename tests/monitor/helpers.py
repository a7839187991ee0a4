"""What the monitoring tests share: a real HTTP receiver for webhooks, an app serving
the fake model under a given monitoring file, logged traffic of chosen features, and
direct SQL to break the store."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tandem.domain import Prediction
from tandem.settings import Settings
from tandem.store import open_store
from tandem.store.base import LogEntry, Store
from tests.fakes import artifact, fake_client, fake_predict


class Receiver:
    """A webhook endpoint on a free local port that keeps what it is sent."""

    def __init__(self, status: int = 200) -> None:
        self.received: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append(json.loads(body))
                receiver.headers.append(dict(self.headers))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    @contextmanager
    def running(self) -> Iterator[Receiver]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()
            thread.join(timeout=5)

    def events(self) -> list[tuple[str, str]]:
        return [(m["event"], m["rule"]) for m in self.received]


def write_config(folder: Path, text: str) -> Path:
    path = folder / "monitoring.toml"
    path.write_text(text)
    return path


def fake_app(settings: Settings, behaviour: str = "ok", p_a: float = 0.7) -> TestClient:
    """A client for an app serving the fake model (register once per store)."""
    store = open_store(settings.resolved_database_url)
    first = store.production_version("fake") is None
    store.close()
    return fake_client(settings, artifact(behaviour, p_a=p_a) if first else None)


predict = fake_predict


def log_traffic(
    store: Store,
    version: str,
    start: datetime,
    features: Sequence[dict[str, float]],
    rng: np.random.Generator,
    batch: int,
    label_p: Sequence[float] | None = None,
) -> list[Prediction]:
    """The fake model's `version` answering one row of `features` a second from
    `start` (label a, b or c, drawn with `label_p`; random confidence and route),
    logged through the batch write `batch` at a time: a block per batch."""
    logged = [
        Prediction(
            id=f"{i:032x}",
            created_at=start + timedelta(seconds=i),
            model="fake",
            model_version=version,
            input={},
            features=row,
            label=str(rng.choice(["a", "b", "c"], p=label_p)),
            confidence=float(rng.uniform(0.5, 1.0)),
            alternatives=[],
            explanation=[],
            suggestions=[],
            route=str(rng.choice(["model", "review", "fallback"])),
            latency_ms=1.0,
        )
        for i, row in enumerate(features)
    ]
    for first in range(0, len(logged), batch):
        store.add_predictions([LogEntry(p) for p in logged[first : first + batch]])
    return logged


def execute(settings: Settings, sql: str, **params: Any) -> int:
    """Change the store behind Tandem's back, as a bad script or a bad disk would."""
    engine = sa.create_engine(settings.resolved_database_url)
    try:
        with engine.begin() as conn:
            return int(conn.execute(sa.text(sql), params).rowcount)
    finally:
        engine.dispose()


def concern(client: TestClient, name: str, **query: str) -> dict[str, Any]:
    response = client.get("/v1/monitor/concerns", params=query)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = {c["name"]: c for c in response.json()["concerns"]}[name]
    return found
