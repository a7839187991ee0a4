"""A small closed-loop HTTP/1.1 load generator on raw asyncio sockets.

Why not httpx/aiohttp: their per-request overhead is several times a Tandem predict
call, so on a 2-core machine the client, not the server, would set the pace. Here each
of C connections keeps one request in flight (keep-alive), requests are pre-encoded
bytes, and a response is parsed only as far as HTTP framing needs (status line,
headers, Content-Length or chunked body).

Phases: a warm-up (responses counted, not measured), then a measured window. A request
is measured when it completes inside the window with a 2xx answer; throughput is
measured requests over the window's length (a refusal, however fast, is an error and
never throughput). Being closed-loop, latency under overload shows up as lower
throughput rather than as queueing delay (no coordinated-omission correction).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"  # only ever load the local machine
OPEN_PAUSE_S = 0.005  # between opening one connection and the next
OPEN_TRIES = 8  # connections opened, at most, for each one kept (see _open_spread)
MAX_ERROR_SAMPLES = 5


class ProtocolError(Exception):
    """The server answered something this client cannot frame."""


@dataclass
class LoadResult:
    """What one run against one server measured."""

    target: str
    connections: int
    warmup_s: float
    duration_s: float
    latencies_s: list[float] = field(default_factory=list)  # 2xx in the measured window
    ok_total: int = 0  # 2xx responses over the whole run, warm-up and tail included
    errors_total: int = 0  # non-2xx, timeouts, resets, bad framing, whole run
    status_counts: dict[int, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    response_bytes: int = 0  # bodies of measured responses
    client_cpu_s: float = 0.0  # this process's CPU time during the window
    server_cpu_s: float | None = None  # the server's CPU time (with workers) in the window
    db_cpu_s: float | None = None  # the database server's CPU time (PostgreSQL), same window
    machine_busy: float | None = None  # fraction of all cores busy during the window
    connections_by_worker: list[int] | None = None  # the client's connections each worker
    # process held when the window opened, most first (see `connections_by_worker`)
    open_attempts: int = 0  # connections opened to keep `connections` spread (_open_spread)
    ids: list[str] | None = None  # prediction ids of every 2xx answer, when collected

    @property
    def measured(self) -> int:
        return len(self.latencies_s)

    @property
    def requests_per_s(self) -> float:
        return self.measured / self.duration_s

    def latency_ms(self, q: float) -> float:
        """Nearest-rank percentile `q` (0-100) of the measured latencies, in ms."""
        if not self.latencies_s:
            return float("nan")
        ordered = sorted(self.latencies_s)
        rank = max(1, round(q / 100 * len(ordered)))
        return ordered[min(rank, len(ordered)) - 1] * 1000

    def note_error(self, what: str) -> None:
        self.errors_total += 1
        if len(self.error_samples) < MAX_ERROR_SAMPLES:
            self.error_samples.append(what)

    def summary(self) -> dict[str, object]:
        """JSON-ready numbers (no raw latency list: it would dwarf the file)."""
        return {
            "target": self.target,
            "connections": self.connections,
            "warmup_s": self.warmup_s,
            "duration_s": self.duration_s,
            "measured_requests": self.measured,
            "requests_per_s": round(self.requests_per_s, 1),
            "latency_ms": {f"p{q}": round(self.latency_ms(q), 3) for q in (50, 90, 99, 99.9, 100)},
            "ok_total": self.ok_total,
            "errors_total": self.errors_total,
            "status_counts": {str(k): v for k, v in sorted(self.status_counts.items())},
            "error_samples": self.error_samples,
            "mean_response_bytes": round(self.response_bytes / self.measured)
            if self.measured
            else 0,
            "client_cpu_core_fraction": round(self.client_cpu_s / self.duration_s, 3),
            "server_cpu_core_fraction": None
            if self.server_cpu_s is None
            else round(self.server_cpu_s / self.duration_s, 3),
            "db_cpu_core_fraction": None
            if self.db_cpu_s is None
            else round(self.db_cpu_s / self.duration_s, 3),
            "machine_busy_fraction": None
            if self.machine_busy is None
            else round(self.machine_busy, 3),
            "connections_by_worker": self.connections_by_worker,
            "open_attempts": self.open_attempts,
        }


def encode_post(port: int, path: str, body: bytes, headers: dict[str, str] | None = None) -> bytes:
    """One complete HTTP/1.1 request, encoded once so the hot loop only writes bytes."""
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    head = (
        f"POST {path} HTTP/1.1\r\n"
        f"Host: {HOST}:{port}\r\n"
        "Content-Type: application/json\r\n"
        "Accept: application/json\r\n"
        f"{extra}"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return head.encode("ascii") + body


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            await _skip_trailers(reader)
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)  # the CRLF after each chunk


async def _skip_trailers(reader: asyncio.StreamReader) -> None:
    while (await reader.readuntil(b"\r\n")) != b"\r\n":
        pass


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Read one response: (status, body, whether the connection may be reused)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head[:-4].decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise ProtocolError(f"bad status line {lines[0]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise ProtocolError(f"bad header line {line!r}")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        body = await _read_chunked(reader)
    else:
        raise ProtocolError("response has neither Content-Length nor chunked encoding")
    keep_alive = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    return int(code), body, keep_alive


ID_PREFIX = b'{"id":"'  # Tandem's predict response starts with the prediction id


def prediction_id(body: bytes) -> str:
    """The "id" of a 2xx predict body: sliced when it comes first (Tandem's case, and
    cheap for a client sharing the server's cores), else parsed."""
    if body.startswith(ID_PREFIX):
        end = body.index(b'"', len(ID_PREFIX))
        return body[len(ID_PREFIX) : end].decode()
    return str(json.loads(body)["id"])


def _check_body(body: bytes) -> str | None:
    """None when a 2xx body looks like a prediction; else what is wrong with it."""
    try:
        doc = json.loads(body)
    except ValueError:
        return f"2xx body is not JSON: {body[:80]!r}"
    if not isinstance(doc, dict) or "label" not in doc:
        return f"2xx body has no 'label': {body[:80]!r}"
    return None


async def _connection(
    worker: int,
    port: int,
    requests: Sequence[bytes],
    result: LoadResult,
    measure_from: float,
    stop_at: float,
    budget: list[int],
    timeout_s: float,
    stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None,
) -> None:
    """One keep-alive connection (`stream`, or one it opens): send, wait for the
    answer, repeat until stop_at."""
    clock = time.perf_counter
    index = worker * len(requests) // result.connections  # spread inputs across connections
    reader, writer = stream if stream is not None else (None, None)
    checked = False
    try:
        while clock() < stop_at and budget[0] > 0:
            budget[0] -= 1
            payload = requests[index % len(requests)]
            index += 1
            try:
                async with asyncio.timeout(timeout_s):
                    if writer is None:
                        reader, writer = await asyncio.open_connection(HOST, port)
                    assert reader is not None
                    started = clock()
                    writer.write(payload)
                    status, body, keep_alive = await read_response(reader)
                    done = clock()
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ProtocolError) as exc:
                result.note_error(f"{type(exc).__name__}: {exc}")
                if writer is not None:
                    writer.close()
                reader = writer = None
                await asyncio.sleep(0.01)  # do not spin on a dead server
                continue
            result.status_counts[status] = result.status_counts.get(status, 0) + 1
            answered = False
            if 200 <= status < 300:
                problem = None if checked else _check_body(body)
                checked = True
                if problem is None:
                    answered = True
                    result.ok_total += 1
                    if result.ids is not None:
                        result.ids.append(prediction_id(body))
                else:
                    result.note_error(problem)
            else:
                result.note_error(f"HTTP {status}: {body[:200]!r}")
            # Only answers count as throughput: a fast refusal is not a served request.
            if answered and measure_from <= done <= stop_at:
                result.latencies_s.append(done - started)
                result.response_bytes += len(body)
            if not keep_alive:
                assert writer is not None
                writer.close()
                reader = writer = None
    finally:
        if writer is not None:
            writer.close()


def _stat(pid: int) -> list[str]:
    """Fields of /proc/PID/stat after the command name (field 3 onwards)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and all its descendants, all threads
    (Linux /proc): a server with several workers, or PostgreSQL's backends."""
    ticks = 0
    for current in _tree(pid):
        try:
            fields = _stat(current)
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                children.setdefault(int(_stat(int(entry.name))[1]), []).append(int(entry.name))
            except (OSError, IndexError):
                continue  # the process ended while we looked
    found, todo = [], [pid]
    while todo:
        found.append(current := todo.pop())
        todo.extend(children.get(current, []))
    return found


def _tcp_inodes(port: int) -> tuple[set[str], set[str]]:
    """Socket inodes on local `port`: (listening, established), from /proc/net/tcp{,6}."""
    listening: set[str] = set()
    established: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if int(f[1].rsplit(":", 1)[1], 16) != port:
                continue
            if f[3] == "0A":  # LISTEN
                listening.add(f[9])
            elif f[3] == "01":  # ESTABLISHED
                established.add(f[9])
    return listening, established


def connections_by_worker(server_pid: int, port: int) -> list[int]:
    """How many connections to `port` each worker process of the server holds, most
    first (Linux /proc); see `connections_per_worker`.

    Why it matters: workers sharing one listening socket each accept whatever arrives
    while they wait, so a burst of keep-alive connections can land all on one worker;
    with one worker's connections only, a run measures one core, whatever the server."""
    return sorted(connections_per_worker(server_pid, port).values(), reverse=True)


def connections_per_worker(server_pid: int, port: int) -> dict[int, int]:
    """Each worker's pid and how many connections to `port` it holds (Linux /proc).
    Workers are the processes of the server's tree that hold the listening socket, the
    supervisor left out when it has workers of its own."""
    listening, established = _tcp_inodes(port)
    held: dict[int, set[str]] = {}
    for pid in _tree(server_pid):
        try:
            links = {os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()}
        except OSError:
            continue  # gone, or not ours to read
        held[pid] = {link[8:-1] for link in links if link.startswith("socket:[")}
    workers = [pid for pid, inodes in held.items() if inodes & listening]
    if len(workers) > 1 and server_pid in workers:
        workers.remove(server_pid)
    return {pid: len(held[pid] & established) for pid in workers}


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies over all cores, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def machine_busy_over(seconds: float) -> float:
    """Fraction of all cores busy over the next `seconds`: load from anyone else."""
    busy0, total0 = _machine_ticks()
    time.sleep(seconds)
    busy1, total1 = _machine_ticks()
    return (busy1 - busy0) / max(1, total1 - total0)


async def _sample_cpu(
    result: LoadResult,
    server_pid: int | None,
    measure_from: float,
    stop_at: float,
    db_pid: int | None = None,
    port: int | None = None,
) -> None:
    """CPU use of client, server, database and machine across exactly the measured
    window, and how the server's workers shared the connections as it opened."""
    await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
    if server_pid and port:
        result.connections_by_worker = connections_by_worker(server_pid, port)
    client0 = time.process_time()
    server0 = tree_cpu_s(server_pid) if server_pid else None
    db0 = tree_cpu_s(db_pid) if db_pid else None
    busy0, total0 = _machine_ticks()
    await asyncio.sleep(max(0.0, stop_at - time.perf_counter()))
    result.client_cpu_s = time.process_time() - client0
    if server_pid and server0 is not None:
        result.server_cpu_s = tree_cpu_s(server_pid) - server0
    if db_pid and db0 is not None:
        result.db_cpu_s = tree_cpu_s(db_pid) - db0
    busy1, total1 = _machine_ticks()
    result.machine_busy = (busy1 - busy0) / max(1, total1 - total0)


def evenly_spread(counts: Sequence[int] | None, connections: int, workers: int) -> bool:
    """Whether each of `workers` held its share of `connections`, give or take one
    (unknown counts as even)."""
    if not counts:
        return True
    share = connections / workers
    return len(counts) == workers and all(abs(c - share) <= 1 for c in counts)


async def _open_spread(
    port: int,
    connections: int,
    server_pid: int | None,
    workers: int,
    result: LoadResult,
) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """The client's connections, opened one at a time, each given a moment to be
    accepted (opened together they reach a server with several workers as one burst,
    which the first worker to wake accepts whole).

    Where the server has several workers, each new connection is kept only while the
    worker that accepted it holds less than its share; the others are closed once the
    set is complete. Workers sharing one listening socket each accept whatever arrives
    while they wait, and the kernel wakes them in much the same order each time, so
    left alone one worker takes most connections (16+0 and 14+2 were seen), and a run
    measures fewer cores than the server has. At most OPEN_TRIES connections a slot
    are opened; a spread still uneven then is reported (`connections_by_worker`)."""
    streams: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    if workers <= 1 or server_pid is None:
        for _ in range(connections):
            streams.append(await asyncio.open_connection(HOST, port))
            await asyncio.sleep(OPEN_PAUSE_S)
        return streams
    share = -(-connections // workers)  # rounded up
    spare: list[asyncio.StreamWriter] = []
    held: dict[int, int] = {}
    before = connections_per_worker(server_pid, port)
    opened = 0
    while len(streams) < connections and opened < connections * OPEN_TRIES:
        stream = await asyncio.open_connection(HOST, port)
        opened += 1
        await asyncio.sleep(OPEN_PAUSE_S)
        after = connections_per_worker(server_pid, port)
        gained = [pid for pid, n in after.items() if n > before.get(pid, 0)]
        before = after
        if len(gained) == 1 and held.get(gained[0], 0) < share:
            held[gained[0]] = held.get(gained[0], 0) + 1
            streams.append(stream)
        else:
            spare.append(stream[1])
    while len(streams) < connections:  # out of tries: whatever the spread
        streams.append(await asyncio.open_connection(HOST, port))
    for writer in spare:
        writer.close()
    result.open_attempts = opened
    return streams


async def run_load(
    target: str,
    port: int,
    path: str,
    bodies: Sequence[bytes],
    connections: int = 16,
    warmup_s: float = 2.0,
    duration_s: float = 10.0,
    server_pid: int | None = None,
    timeout_s: float = 10.0,
    max_requests: int = 2_000_000,
    headers: dict[str, str] | None = None,
    collect_ids: bool = False,
    db_pid: int | None = None,
    workers: int = 1,
) -> LoadResult:
    """POST `bodies` (cycled) to 127.0.0.1:`port``path` from `connections` connections;
    with `collect_ids`, keep the prediction id of every 2xx answer (warm-up included)."""
    if not bodies:
        raise ValueError("no request bodies to send")
    requests = [encode_post(port, path, b, headers) for b in bodies]
    result = LoadResult(target, connections, warmup_s, duration_s)
    streams = await _open_spread(port, connections, server_pid, workers, result)
    if collect_ids:
        result.ids = []
    measure_from = time.perf_counter() + warmup_s
    stop_at = measure_from + duration_s
    budget = [max_requests]  # shared by all connections: a hard cap on requests sent
    # Each connection stops issuing at stop_at and waits at most timeout_s for its last
    # answer; the outer limit is a backstop so a run can never hang.
    async with asyncio.timeout(warmup_s + duration_s + 2 * timeout_s + 5):
        await asyncio.gather(
            _sample_cpu(result, server_pid, measure_from, stop_at, db_pid, port),
            *(
                _connection(
                    i, port, requests, result, measure_from, stop_at, budget, timeout_s, stream
                )
                for i, stream in enumerate(streams)
            ),
        )
    return result
