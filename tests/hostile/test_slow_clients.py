"""Idle and slow clients cannot hold a real `tandem serve`: a thousand connections that
send nothing or half a header leave /healthz answering, each is closed once the header
timeout passes, and past the connection cap a request gets a 503 that says so."""

from __future__ import annotations

import json
import resource
import selectors
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tandem.models.interface import TrainedArtifact
from tandem.settings import Settings
from tests.conftest import (
    _wait_healthy,
    env_for,
    free_port,
    fresh_database,
    register_production,
    tandem_serve,
)

TANDEM = str(Path(sys.executable).parent / "tandem")
IDLE = 500  # connect, send nothing
PARTIAL = 500  # send part of a request line and headers, then a byte now and then
CAP = 1100
HEADER_TIMEOUT_S = 2.0
KEEP_ALIVE_S = 1


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, data_dir: Path, ml_editor_artifact: TrainedArtifact
) -> Iterator[str]:
    """One real server for the module, the ML Editor in production."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096:  # this test and the server each hold ~1,200 sockets
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    home = tmp_path_factory.mktemp("slow") / "home"
    with fresh_database("slow") as db_url:
        settings = Settings(home=home, database_url=db_url)
        register_production(settings, "ml-editor", ml_editor_artifact)
        env = {
            **env_for(settings),
            "TANDEM_MAX_CONNECTIONS": str(CAP),
            "TANDEM_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
            "TANDEM_KEEP_ALIVE_TIMEOUT_S": str(KEEP_ALIVE_S),
            "TANDEM_ALERT_INTERVAL_S": "0",
        }
        port = free_port()
        log_path = home.parent / "serve.log"
        with tandem_serve(env, port, log_path, "--host", "127.0.0.1") as proc:
            url = f"http://127.0.0.1:{port}"
            _wait_healthy(proc, url, log_path)
            yield url


def _connect(port: int, n: int) -> list[socket.socket]:
    return [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(n)]


def _healthz(url: str) -> tuple[int, float, bytes]:
    start = time.monotonic()
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as r:
            status, body = r.status, r.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    return status, time.monotonic() - start, body


def _wait_closed(socks: list[socket.socket], deadline: float) -> list[socket.socket]:
    """Read each socket until the server closes it or `deadline`; the ones left open."""
    sel = selectors.DefaultSelector()
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    open_ = set(socks)
    while open_ and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=max(0.0, deadline - time.monotonic())):
            s = key.fileobj
            assert isinstance(s, socket.socket)
            try:
                data = s.recv(4096)
            except ConnectionResetError:
                data = b""
            if not data:
                sel.unregister(s)
                open_.discard(s)
    sel.close()
    return list(open_)


def test_slow_loris_cannot_hold_the_server(server: str) -> None:
    port = int(server.rsplit(":", 1)[1])
    opened = time.monotonic()
    idle = _connect(port, IDLE)
    partial = _connect(port, PARTIAL)
    socks = idle + partial
    try:
        for i, s in enumerate(partial):
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow-" + str(i).encode())
        for _ in range(2):  # keep trickling: each byte must not restart the clock
            time.sleep(HEADER_TIMEOUT_S / 4)
            for s in partial:
                s.sendall(b"a")

        # A thousand idle or half-sent connections: the server still answers at once.
        status, took, _ = _healthz(server)
        assert status == 200 and took < 1.0, (status, took)

        # Past the cap, a request is told plainly why it is refused.
        extra = _connect(port, CAP - IDLE - PARTIAL + 10)
        socks += extra
        status, took, body = _healthz(server)
        assert status == 503 and took < 1.0, (status, took, body)
        error = json.loads(body)["error"]
        assert error["code"] == "overloaded" and "TANDEM_MAX_CONNECTIONS" in error["message"]

        # Each connection is closed once its header time is up (counted from connecting).
        left = _wait_closed(socks, opened + HEADER_TIMEOUT_S * 2 + 5 + len(extra) * 0.002)
        assert left == [], f"{len(left)} of {len(socks)} connections still open"
        closed_by = time.monotonic() - opened
        status, took, _ = _healthz(server)
        assert status == 200 and took < 1.0
    finally:
        for s in socks:
            s.close()
    assert closed_by < HEADER_TIMEOUT_S * 2 + 5


def test_idle_keep_alive_connection_is_closed(server: str) -> None:
    port = int(server.rsplit(":", 1)[1])
    (s,) = _connect(port, 1)
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answered = time.monotonic()
        assert s.recv(4096).startswith(b"HTTP/1.1 200")
        assert _wait_closed([s], answered + KEEP_ALIVE_S + 2) == []
    finally:
        s.close()


def test_oversized_headers_are_refused(server: str) -> None:
    port = int(server.rsplit(":", 1)[1])
    (s,) = _connect(port, 1)
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        try:
            for _ in range(100):  # 100 KiB of headers, more than the 64 KiB default
                s.sendall(b"X-Pad: " + b"p" * 1016 + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed it mid-send
        s.settimeout(5)
        try:
            reply = s.recv(4096)
        except ConnectionResetError:
            reply = b""
        assert reply == b"" or reply.startswith(b"HTTP/1.1 431"), reply
    finally:
        s.close()
