"""A real `tandem serve` process that a test starts, loads, SIGKILLs and restarts on
the same store (the session-wide `live_server` fixture cannot be killed)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from tandem.settings import Settings
from tests.conftest import _wait_healthy, env_for, free_port


@dataclass
class Server:
    settings: Settings
    extra_env: dict[str, str]
    workers: int = 1
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.settings.home.parent / f"serve-{self.port}-{self.starts}.log"

    def start(self, serving: bool = True) -> None:
        """Start `tandem serve` and wait until /healthz answers 200 (`serving`) or at
        all (a store with no model yet: 503)."""
        self.starts += 1
        self.settings.home.mkdir(parents=True, exist_ok=True)
        tandem = Path(sys.executable).parent / "tandem"
        with self.log_path.open("wb") as log:
            # Its own session: kill() reaches every process of the server, workers too.
            self.proc = subprocess.Popen(
                [str(tandem), "serve", "--port", str(self.port), "--workers", str(self.workers)],
                env={**env_for(self.settings), **self.extra_env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if serving:
            _wait_healthy(self.proc, self.url, self.log_path)
        else:
            _wait_answering(self.proc, self.url, self.log_path)

    def server_pids(self) -> list[int]:
        """The processes of the server's session: uvicorn itself (`tandem serve` runs it
        in-process, so there is no wrapper) and, with --workers, its workers."""
        assert self.proc is not None
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with suppress(OSError):
                    if os.getsid(int(entry.name)) == self.proc.pid:
                        pids.append(int(entry.name))
        return sorted(pids)

    def kill(self) -> list[int]:
        """SIGKILL every server process at once, as a crash would; returns their pids."""
        assert self.proc is not None
        pids = self.server_pids()
        cmdline = Path(f"/proc/{self.proc.pid}/cmdline").read_bytes().split(b"\0")
        assert b"serve" in cmdline, cmdline  # the Python process running the server itself
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        assert self.proc.returncode == -signal.SIGKILL
        deadline = time.monotonic() + 10  # workers die a moment after their parent
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [pid for pid in pids if _alive(pid)], "a server process survived SIGKILL"
        # Nothing answers on the port any more (the kernel closes a killed process's
        # listening socket as it reaps it: allow it a moment).
        while time.monotonic() < deadline + 10:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) != 0:
                    break
            time.sleep(0.05)
        else:
            raise AssertionError(f"something still answers on port {self.port} after SIGKILL")
        return pids

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


def _wait_answering(proc: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                return
        except urllib.error.HTTPError:
            return  # an answer: 503 while no model is served
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"tandem serve did not answer: {log_path.read_text()}")


def _alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped holds no socket and runs no code)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@contextmanager
def running_server(settings: Settings, workers: int = 1, **env: str) -> Iterator[Server]:
    """A started server on `settings`' store; extra settings as TANDEM_* variables."""
    server = Server(settings, {f"TANDEM_{k.upper()}": v for k, v in env.items()}, workers)
    server.start()
    try:
        yield server
    finally:
        server.stop()
