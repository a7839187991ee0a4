"""Runs the "Bring your own model" walk-through (docs/own-model.md) exactly as written."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port

pytestmark = pytest.mark.server


def _block(page: str, kind: str) -> str:
    match = re.search(rf"<!-- walkthrough:{kind} -->\n```{kind}\n(.*?)```", page, re.S)
    assert match, f"docs/own-model.md lost its walkthrough:{kind} block"
    return match.group(1)


def test_own_model_walkthrough(tmp_path: Path, data_dir: Path) -> None:
    page = (ROOT / "docs" / "own-model.md").read_text()
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parent.parent)
    (tmp_path / "save_model.py").write_text(_block(page, "python"))
    port = str(free_port())
    script = _block(page, "bash").replace("8000", port)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
    env["TANDEM_DATA_DIR"] = str(data_dir)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    prediction = json.loads((tmp_path / "prediction.json").read_text())
    assert prediction["model"] == "iris" and prediction["route"] == "review"
    decision = json.loads(result.stdout[result.stdout.rindex("{") :])
    assert (decision["status"], decision["label"], decision["reviewer"]) == (
        "decided",
        "versicolor",
        "me",
    )
    assert "registered iris version" in result.stderr
