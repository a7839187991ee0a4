"""`tandem concerns` and `tandem alerts` as a user runs them: a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tandem.settings import Settings
from tests.conftest import env_for
from tests.monitor.helpers import Receiver, execute, fake_app, predict, write_config

TANDEM = str(Path(sys.executable).parent / "tandem")


def _run(settings: Settings, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TANDEM, *args],
        env={**env_for(settings), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_concerns_and_an_alert_from_the_shell(settings: Settings) -> None:
    with fake_app(settings.model_copy(update={"review_threshold": 1.0})) as client:
        bodies = [predict(client, f"t{i}") for i in range(2)]
    shown = _run(settings, "concerns", "--json")
    assert shown.returncode == 0, shown.stderr
    concerns = {c["name"]: c for c in json.loads(shown.stdout)["concerns"]}
    keys = ["name", "value", "ok", "expected", "parts", "window", "description"]
    assert list(concerns["nothing_lost"]) == keys  # the order docs/monitoring.md shows
    assert concerns["nothing_lost"]["value"] == 0
    assert concerns["nothing_lost"]["parts"]["review_items"]["pending"] == 2

    execute(settings, "DELETE FROM review_items WHERE id = :r", r=bodies[0]["review_id"])
    assert "OFF" in _run(settings, "concerns").stdout
    with Receiver().running() as receiver:
        checked = _run(settings, "alerts", "check", TANDEM_ALERT_WEBHOOK_URL=receiver.url)
    assert checked.returncode == 0, checked.stderr
    assert "nothing_lost: firing (webhook: sent: HTTP 200)" in checked.stderr
    assert receiver.events() == [("alert.firing", "nothing_lost")]
    listed = _run(settings, "alerts", "list", "--state", "firing")
    assert listed.returncode == 0 and "nothing_lost" in listed.stdout


def test_a_bad_monitoring_file_is_one_line(settings: Settings, tmp_path: Path) -> None:
    path = write_config(tmp_path, '[[alerts]]\nname = "slow"\nsignal = "latency"\n')
    for args in (("concerns",), ("alerts", "check"), ("serve", "--port", "1")):
        result = _run(settings, *args, TANDEM_CONCERNS_FILE=str(path))
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.strip().splitlines() == [
            f"error: {path}: alerts[0] (slow): give max, min or equals"
        ]


def test_bad_options_are_one_line(settings: Settings) -> None:
    result = _run(settings, "alerts", "list", "--state", "open")
    assert result.returncode == 2 and "use firing or resolved" in result.stderr
    assert "Traceback" not in result.stderr
    bad_url = _run(settings, "concerns", TANDEM_ALERT_WEBHOOK_URL="ftp://x")
    assert bad_url.returncode == 2 and "TANDEM_ALERT_WEBHOOK_URL" in bad_url.stderr
