"""The CLI as a user runs it: a real process, one-line errors, no tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tandem.settings import Settings
from tests.conftest import env_for

TANDEM = str(Path(sys.executable).parent / "tandem")


def _run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TANDEM, *args], env=env_for(settings), capture_output=True, text=True, timeout=120
    )


def test_train_registers_a_production_version(settings: Settings, data_dir: Path) -> None:
    trained = _run(settings, "train", "ml-editor", "--data", str(data_dir))
    assert trained.returncode == 0, trained.stderr
    assert "| roc_auc |" in trained.stderr and "as production" in trained.stderr
    listed = _run(settings, "models", "list")
    assert listed.returncode == 0 and "production" in listed.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("train", "ml-editor", "--data", "/nonexistent"), "does not exist"),
        (("train", "spam-filter"), "unknown model 'spam-filter'; known models: digits, ml-editor"),
    ],
)
def test_errors_are_one_line(settings: Settings, args: tuple[str, ...], says: str) -> None:
    result = _run(settings, *args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: {result.stderr.split('error: ')[1].strip()}"
    ]
    assert says in result.stderr


def test_bad_setting_is_one_line(tmp_path: Path) -> None:
    # A command that reads the settings (`tandem models list` reads only the store's URL).
    env = {**os.environ, "TANDEM_HOME": str(tmp_path), "TANDEM_REVIEW_THRESHOLD": "high"}
    result = subprocess.run(
        [TANDEM, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "TANDEM_REVIEW_THRESHOLD" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [("db", "upgrade"), ("db", "compact"), ("models", "list")])
def test_an_unreachable_store_is_one_line(settings: Settings, command: tuple[str, ...]) -> None:
    unreachable = settings.model_copy(
        update={"database_url": "postgresql+psycopg://nobody@127.0.0.1:1/tandem"}
    )
    result = _run(unreachable, *command)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("error: the store is unavailable: ")
    assert len(result.stderr.strip().splitlines()) == 1
