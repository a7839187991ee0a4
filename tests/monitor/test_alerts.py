"""Alerts: firing and resolving are stored once, with evidence, shown on /metrics and
/alerts, and sent to a real HTTP receiver."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from tandem.monitor.monitoring import Monitoring
from tandem.monitor.monitoring_config import parse_config
from tandem.monitor.nothing_lost import IntakeCounts
from tandem.monitor.signals import SIGNALS, Reading, SignalContext, register_signal
from tandem.monitor.windows import Window
from tandem.settings import Settings
from tandem.store import open_store
from tandem.store.base import Store
from tests.monitor.helpers import Receiver, execute, fake_app, predict, write_config


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver().running() as r:
        yield r


@pytest.fixture
def review_all(settings: Settings) -> Settings:
    return settings.model_copy(update={"review_threshold": 1.0, "alert_interval_s": 0.0})


def _check(client: TestClient) -> dict[str, Any]:
    response = client.post("/v1/alerts/check")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _metric(client: TestClient, line_start: str) -> str:
    text = client.get("/metrics").text
    found = [line for line in text.splitlines() if line.startswith(line_start)]
    assert len(found) == 1, (line_start, text)
    return found[0].split()[-1]


def test_a_lost_review_item_fires_and_its_repair_resolves(
    review_all: Settings, receiver: Receiver
) -> None:
    settings = review_all.model_copy(update={"alert_webhook_url": receiver.url})
    with fake_app(settings) as client:
        bodies = [predict(client, f"text {i}") for i in range(3)]
        assert [t["state"] for t in _check(client)["transitions"]] == []
        assert _metric(client, 'tandem_alert_firing{rule="nothing_lost"}') == "0.0"

        execute(
            settings,
            "UPDATE review_items SET status = 'gone' WHERE id = :r",
            r=bodies[0]["review_id"],
        )
        fired = _check(client)["transitions"]
        assert [(t["state"], t["alert"]["rule"]) for t in fired] == [("firing", "nothing_lost")]
        assert fired[0]["delivery"] == "sent: HTTP 200"
        assert receiver.events() == [("alert.firing", "nothing_lost")]
        message = receiver.received[0]
        assert message["value"] == 1 and message["evidence"]["expected"] == {"equals": 0}
        parts = message["evidence"]["details"]["parts"]["review_items"]
        assert parts["unexpected_status"] == {"gone": 1}
        assert receiver.headers[0]["Content-Type"] == "application/json"

        assert _check(client)["transitions"] == []  # still firing: not stored twice
        firing = client.get("/v1/alerts", params={"state": "firing"}).json()["alerts"]
        assert len(firing) == 1 and firing[0]["fired_delivery"] == "sent: HTTP 200"
        assert _metric(client, 'tandem_alert_firing{rule="nothing_lost"}') == "1.0"
        assert _metric(client, 'tandem_concern_value{name="nothing_lost"}') == "1.0"
        page = client.get("/alerts").text
        assert "Firing now (1)" in page and "gone" in page

        execute(
            settings,
            "UPDATE review_items SET status = 'pending' WHERE id = :r",
            r=bodies[0]["review_id"],
        )
        resolved = _check(client)["transitions"]
        assert [(t["state"], t["alert"]["rule"]) for t in resolved] == [
            ("resolved", "nothing_lost")
        ]
        assert receiver.events()[-1] == ("alert.resolved", "nothing_lost")
        assert receiver.received[-1]["value"] == 0 and receiver.received[-1]["resolved_at"]
        history = client.get("/v1/alerts", params={"state": "resolved"}).json()["alerts"]
        assert len(history) == 1 and history[0]["resolution"]["value"] == 0
        assert history[0]["resolved_delivery"] == "sent: HTTP 200"
        assert client.get("/v1/alerts", params={"state": "firing"}).json()["alerts"] == []
        assert _metric(client, 'tandem_alert_firing{rule="nothing_lost"}') == "0.0"
        assert "Nothing is firing" in client.get("/alerts").text


def test_a_failing_webhook_is_recorded_and_checks_go_on(
    review_all: Settings, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path,
        '[[alerts]]\nname = "backlog"\nsignal = "review_backlog"\nmax = 0\n'
        '[[alerts]]\nname = "busy"\nsignal = "review_backlog"\nmax = 0\n',
    )
    with Receiver(status=500).running() as broken:
        settings = review_all.model_copy(
            update={"alert_webhook_url": broken.url, "concerns_file": config}
        )
        with fake_app(settings) as client:
            predict(client)
            transitions = _check(client)["transitions"]
            assert {t["alert"]["rule"] for t in transitions} == {"backlog", "busy"}
            assert all(t["delivery"].startswith("failed: HTTP 500") for t in transitions)
            stored = client.get("/v1/alerts").json()["alerts"]
            assert {a["fired_delivery"][:16] for a in stored} == {"failed: HTTP 500"}
            assert len(broken.received) == 2  # it was reached, and said no


def test_an_unreachable_webhook_does_not_stop_the_check(review_all: Settings) -> None:
    dead = Receiver()  # bound, never served: then closed, so nothing listens on its port
    dead.server.server_close()
    settings = review_all.model_copy(
        update={"alert_webhook_url": dead.url, "alert_webhook_timeout_s": 1.0}
    )
    with fake_app(settings) as client:
        body = predict(client)
        execute(settings, "DELETE FROM review_items WHERE id = :r", r=body["review_id"])
        transitions = _check(client)["transitions"]
        assert transitions[0]["delivery"].startswith("failed:")
        assert client.get("/v1/alerts").json()["alerts"][0]["state"] == "firing"


CONFIG = """
[[alerts]]
name = "slow"
signal = "latency"
params = { quantile = 0.99 }
window = "1h"
max = 0.0
for = "5m"
"""


def _monitoring(store: Store, text: str = CONFIG, **kw: Any) -> Monitoring:
    import tomllib

    return Monitoring(store, parse_config(tomllib.loads(text)), **kw)


def test_a_rule_fires_only_once_it_held_for_its_duration(review_all: Settings) -> None:
    with fake_app(review_all) as client:
        predict(client)
    store = open_store(review_all.resolved_database_url)
    mon = _monitoring(store)
    now = datetime.now(UTC)
    first = mon.check(now)
    check = {c.rule: c for c in first.checks}["slow"]
    assert (check.ok, check.failing_since, first.transitions) == (False, now, [])
    later = mon.check(now + timedelta(minutes=6))
    assert [(t.state, t.alert.rule) for t in later.transitions] == [("firing", "slow")]
    assert later.transitions[0].alert.evidence["failing_since"] == now.isoformat()
    store.close()


def test_racing_workers_store_a_transition_once(review_all: Settings) -> None:
    """Two processes' worth of stores and monitors check at the same moment, often."""
    with fake_app(review_all) as client:
        predict(client)
    stores = [open_store(review_all.resolved_database_url) for _ in range(2)]
    monitors = [
        _monitoring(
            s,
            '[[alerts]]\nname = "backlog"\nsignal = "review_backlog"\nmax = 0\n',
            deliver=lambda payload: "sent",
        )
        for s in stores
    ]
    results: list[int] = []
    now = datetime.now(UTC)
    for round_ in range(5):
        barrier = threading.Barrier(2)

        def run(mon: Monitoring, barrier: threading.Barrier, at: datetime) -> None:
            barrier.wait()
            results.append(len(mon.check(at).transitions))

        at = now + timedelta(seconds=round_)
        threads = [threading.Thread(target=run, args=(m, barrier, at)) for m in monitors]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sum(results) == 1
    assert len(stores[0].list_alerts(rule="backlog")) == 1
    for s in stores:
        s.close()


def test_a_rule_taken_out_of_the_config_resolves(review_all: Settings) -> None:
    with fake_app(review_all) as client:
        predict(client)
    store = open_store(review_all.resolved_database_url)
    before = _monitoring(
        store, '[[alerts]]\nname = "backlog"\nsignal = "review_backlog"\nmax = 0\n'
    )
    assert len(before.check().transitions) == 1
    after = _monitoring(store, "")
    transitions = after.check().transitions
    assert [(t.state, t.alert.rule) for t in transitions] == [("resolved", "backlog")]
    assert transitions[0].alert.resolution == {"why": "the rule is no longer configured"}
    store.close()


class Fixed(BaseModel):
    value: float


def test_a_registered_signal_alerts_and_reaches_metrics(
    review_all: Settings, tmp_path: Path
) -> None:
    """How drift or live quality plug in: register a signal, name it in a rule."""

    @register_signal("fixed_for_test", Fixed, "A number the rule itself gives.")
    def fixed(ctx: SignalContext, p: Fixed, window: Window) -> Reading:
        return Reading(p.value, {"window": window.span, "store": type(ctx.store).__name__})

    try:
        config = write_config(
            tmp_path,
            '[[alerts]]\nname = "drifty"\nsignal = "fixed_for_test"\n'
            "params = { value = 0.4 }\nmax = 0.2\n",
        )
        settings = review_all.model_copy(update={"concerns_file": config})
        with fake_app(settings) as client:
            fired = _check(client)["transitions"]
            assert fired[0]["alert"]["evidence"]["details"] == {
                "window": "15m",
                "store": "SqlStore",
            }
            metrics = client.get("/metrics").text
            assert 'tandem_signal_value{rule="drifty",signal="fixed_for_test"} 0.4' in metrics
            assert 'tandem_alert_firing{rule="drifty"} 1.0' in metrics
    finally:
        SIGNALS.pop("fixed_for_test")


def test_error_rate_and_nothing_lost_read_the_intake_ledger(store: Store) -> None:
    seen: list[tuple[datetime | None, datetime | None]] = []

    def intake(since: datetime | None, until: datetime | None) -> IntakeCounts:
        seen.append((since, until))
        return IntakeCounts(received=50, answered=47, failed=3)

    mon = _monitoring(
        store, '[[alerts]]\nname = "errors"\nsignal = "error_rate"\nmax = 0.05\n', intake=intake
    )
    now = datetime.now(UTC)
    result = mon.check(now)
    errors = {c.rule: c for c in result.checks}["errors"]
    assert errors.value == pytest.approx(0.06)
    # 50 received, 3 failed, none logged: both the error rate and nothing_lost fire.
    assert sorted(t.alert.rule for t in result.transitions) == ["errors", "nothing_lost"]
    assert (now - timedelta(minutes=15), now) in seen
    nothing_lost = {c.rule: c for c in result.checks}["nothing_lost"]
    requests = nothing_lost.evidence["details"]["parts"]["requests"]
    assert (requests["received"], requests["answered"], requests["missing"]) == (50, 0, 47)


def test_the_server_checks_on_its_own(review_all: Settings, receiver: Receiver) -> None:
    settings = review_all.model_copy(
        update={"alert_interval_s": 0.2, "alert_webhook_url": receiver.url}
    )
    with fake_app(settings) as client:
        body = predict(client)
        execute(settings, "DELETE FROM review_items WHERE id = :r", r=body["review_id"])
        deadline = time.monotonic() + 60
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.1)
        assert receiver.events() == [("alert.firing", "nothing_lost")]
        rules = {r["name"]: r for r in client.get("/v1/alerts/rules").json()}
        assert rules["nothing_lost"]["firing"] is True
        assert rules["nothing_lost"]["last_check"]["value"] == 1


def test_check_from_the_page_redirects_back(review_all: Settings) -> None:
    with fake_app(review_all) as client:
        predict(client)
        response = client.post("/alerts/check", follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/alerts?checked=0"
        page = client.get("/alerts?checked=0").text
        assert "Checked every rule: 0 changes stored" in page and "nothing_lost" in page
