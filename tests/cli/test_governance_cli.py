"""Retrain → promote (approved) → replay → rollback, as an operator types it."""

from __future__ import annotations

import re
from pathlib import Path

from tandem.settings import Settings
from tests.cli.test_cli import _run
from tests.conftest import app_client, predict


def test_operator_cycle(trained_home: Settings, data_dir: Path) -> None:
    home = trained_home
    settings = trained_home.model_copy(update={"review_threshold": 1.0})
    with app_client(settings) as c:
        production = predict(c)["model_version"]
        for i in range(5):
            body = predict(c, {"title": f"Why does my build fail {i}?", "body": "It fails."})
            c.post(
                f"/v1/reviews/{body['review_id']}/decision",
                json={"label": "poor"},
            )

    retrained = _run(home, "retrain", "ml-editor", "--data", str(data_dir))
    assert retrained.returncode == 0, retrained.stderr
    candidate = re.search(r"version (\w{12}) as candidate", retrained.stderr)
    assert candidate and "5 labels from people" in retrained.stderr
    assert "label set sha256" in retrained.stderr  # what it trained on, with its cut-off
    cand = candidate.group(1)
    assert cand != production

    refused = _run(home, "models", "promote", "ml-editor", cand)
    assert refused.returncode == 2 and "needs an approver" in refused.stderr

    listed = _run(home, "models")
    assert f"{production}" in listed.stdout and "candidate" in listed.stdout

    card = _run(home, "models", "card", "ml-editor", cand)
    assert "## Slice: contains_code" in card.stdout

    promoted = _run(
        home,
        "models",
        "promote",
        "ml-editor",
        cand,
        "--approver",
        "ann",
        "--comment",
        "trained on reviewed labels",
    )
    assert promoted.returncode == 0, promoted.stderr
    assert f"was {production}" in promoted.stderr

    replayed = _run(home, "replay", "--version", production, "--model", "ml-editor")
    assert replayed.returncode == 0, replayed.stderr
    assert '"replayed": 6' in replayed.stdout

    rolled = _run(home, "models", "rollback", "ml-editor")
    assert rolled.returncode == 0 and f"to {production}" in rolled.stderr
    assert "production" in _run(home, "models").stdout
