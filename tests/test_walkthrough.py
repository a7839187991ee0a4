"""Runs the "Bring your own model" walk-through (docs/own-model.md) exactly as written."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tandem.models.sklearn_adapter import SklearnFamily, package
from tests.conftest import ROOT, free_port, fresh_database

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
    with fresh_database("walkthrough") as url:  # the test server's PostgreSQL, if any
        if url is not None:
            env["TANDEM_DATABASE_URL"] = url
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
    # The reference given to `tandem models add`: drift answers at once, and the
    # reference's labels choose the fallback.
    assert "drift reference: 150 of 150 rows, 4 features" in result.stderr
    assert "fallback: the most common label in the reference's labels" in result.stderr
    drift = json.loads((tmp_path / "drift.json").read_text())
    assert (drift["model"], drift["reference_rows"]) == ("iris", 150)
    assert drift["reference_source"] == "file train.csv" and drift["live_rows"] == 1


def test_walkthrough_explanations_are_log_odds_that_mean_something(tmp_path: Path) -> None:
    """The walk-through's forest, on its own example: each term is how far the log-odds
    of the answer fall when that feature alone is set to the schema's baseline."""
    page = (ROOT / "docs" / "own-model.md").read_text()
    script = tmp_path / "save_model.py"
    script.write_text(_block(page, "python"))
    subprocess.run([sys.executable, str(script)], cwd=tmp_path, check=True, timeout=120)
    trained = package(tmp_path / "iris.joblib", tmp_path / "schema.json", tmp_path / "train.csv")
    predictor = SklearnFamily("iris").load(trained.content, "v1")
    flower = {"sepal_length": 6.0, "sepal_width": 2.9, "petal_length": 4.8, "petal_width": 1.6}
    features = predictor.features(predictor.input_schema.model_validate(flower))
    probs = predictor.predict_proba(features)
    label = predictor.labels[int(np.argmax(probs))]
    terms = {c.feature: c.contribution for c in predictor.explain(features, label)}
    assert label == "versicolor" and any(abs(t) >= 0.01 for t in terms.values())
    # Petals 4.8 long sit at the versicolor/virginica border, where the average flower's
    # 3.76 is plain versicolor: the length counts against the answer, more than any other.
    assert terms["petal_length"] < 0
    assert max(terms, key=lambda f: abs(terms[f])) == "petal_length"
    # A setosa's tiny petals are why it is a setosa: set to average, the log-odds fall.
    setosa = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
    features = predictor.features(predictor.input_schema.model_validate(setosa))
    terms = {c.feature: c.contribution for c in predictor.explain(features, "setosa")}
    assert terms["petal_length"] > 1 or terms["petal_width"] > 1
    assert all(t >= 0 for t in terms.values())
