"""Monitoring as the app and the CLI use it: concerns, alert checks (on demand and on
a timer), and the gauges it adds to /metrics."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial

from tandem.clock import utcnow
from tandem.incidents import Alert, AlertState, RuleCheck
from tandem.monitor.alerts import CheckResult, Deliver, check_rules
from tandem.monitor.concerns import Concerns, ConcernValue
from tandem.monitor.metrics import Gauge, render
from tandem.monitor.model_signals import drift_gauges
from tandem.monitor.monitoring_config import MonitoringConfig, RuleSpec, load_config
from tandem.monitor.nothing_lost import IntakeSource, store_intake
from tandem.monitor.signals import SignalContext
from tandem.monitor.webhook import post_json
from tandem.periodic import Periodic
from tandem.settings import Settings
from tandem.store.monitoring_store import MonitoringStore

log = logging.getLogger("tandem")
GAUGE_MAX_AGE_S = 15.0


class Monitoring:
    def __init__(
        self,
        store: MonitoringStore,
        config: MonitoringConfig,
        intake: IntakeSource | None = None,
        deliver: Deliver | None = None,
        interval_s: float = 0.0,
    ) -> None:
        self.store = store
        self.config = config
        self.concerns = Concerns(store, config, intake)
        self.rules: list[RuleSpec] = config.rules()
        self.intake = intake
        self.deliver = deliver
        self.interval_s = interval_s
        self.gauge_sources: list[Callable[[], Iterable[Gauge]]] = [
            self._concern_gauges,
            self._alert_gauges,
            partial(drift_gauges, store),
        ]
        """Each returns gauges for /metrics; append one to publish more (drift, ...)."""
        self._timer = Periodic("alert check", interval_s, self.check, store.exclusive)
        self._gauge_values: tuple[float, list[ConcernValue]] | None = None
        self._gauge_lock = threading.Lock()

    @classmethod
    def from_settings(
        cls, store: MonitoringStore, settings: Settings, config: MonitoringConfig | None = None
    ) -> Monitoring:
        """`config` defaults to TANDEM_CONCERNS_FILE's (a bad file raises InvalidInput
        naming the entry and field)."""
        deliver = None
        if settings.alert_webhook_url:
            deliver = partial(
                post_json, settings.alert_webhook_url, timeout_s=settings.alert_webhook_timeout_s
            )
        return cls(
            store,
            config or load_config(settings.concerns_file),
            store_intake(store),
            deliver,
            settings.alert_interval_s,
        )

    # -- concerns and alerts -------------------------------------------------
    def concern_values(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> list[ConcernValue]:
        return self.concerns.evaluate(utcnow(), since, until)

    def context(self, now: datetime) -> SignalContext:
        return SignalContext(self.store, now, self.intake, self.concerns.reading)

    def check(self, now: datetime | None = None) -> CheckResult:
        """Evaluate every rule once, store what changed and send it to the webhook."""
        result = check_rules(self.store, self.rules, self.context(now or utcnow()), self.deliver)
        with self._gauge_lock:
            self._gauge_values = None  # /metrics then shows what this check saw
        return result

    def firing(self) -> list[Alert]:
        return self.alerts("firing", limit=10_000)

    def alerts(
        self, state: AlertState | None = None, rule: str | None = None, limit: int = 100
    ) -> list[Alert]:
        """Alerts, firing first, then newest first."""
        return self.store.list_alerts(state, rule, limit)

    def checks(self) -> dict[str, RuleCheck]:
        """Each rule's latest check, by rule name."""
        return {c.rule: c for c in self.store.list_checks()}

    # -- /metrics ------------------------------------------------------------
    def recent_concern_values(self, max_age_s: float = GAUGE_MAX_AGE_S) -> list[ConcernValue]:
        """Concern values at most `max_age_s` old: a concern over a day of a million
        predictions takes seconds, and Prometheus may scrape every few seconds."""
        with self._gauge_lock:
            cached = self._gauge_values
            if cached is None or time.monotonic() - cached[0] > max_age_s:
                cached = (time.monotonic(), self.concern_values())
                self._gauge_values = cached
            return cached[1]

    def _concern_gauges(self) -> list[Gauge]:
        values = self.recent_concern_values()
        return [
            Gauge(
                "tandem_concern_value",
                "Concern metrics over their configured windows.",
                [({"name": v.name}, v.value) for v in values],
            ),
            Gauge(
                "tandem_concern_ok",
                "1 when a concern metric is where it is expected to be.",
                [({"name": v.name}, float(v.ok)) for v in values],
            ),
        ]

    def _alert_gauges(self) -> list[Gauge]:
        open_rules = {a.rule for a in self.firing()}
        names = [r.name for r in self.rules]
        names += sorted(open_rules - set(names))
        checks = self.checks()
        return [
            Gauge(
                "tandem_alert_firing",
                "1 while an alert rule fires.",
                [({"rule": n}, float(n in open_rules)) for n in names],
            ),
            Gauge(
                "tandem_signal_value",
                "Each alert rule's signal at its latest check.",
                [
                    ({"rule": r.name, "signal": r.signal}, checks[r.name].value)
                    for r in self.rules
                    if r.name in checks
                ],
            ),
        ]

    def metrics(self) -> str:
        """/metrics: the store's totals, then every gauge source's gauges."""
        return render(self.store, self.gauges())

    def gauges(self) -> list[Gauge]:
        out: list[Gauge] = []
        for source in self.gauge_sources:
            try:
                out += source()
            except Exception:  # one broken source must not take /metrics down
                log.exception("a /metrics gauge source failed")
        return out

    # -- the timer -----------------------------------------------------------
    def start(self) -> None:
        """Check the rules every `interval_s` in the background (0: never); signals
        read the store (and may scan many rows), so off the event loop."""
        self._timer.start()

    async def stop(self) -> None:
        await self._timer.stop()
