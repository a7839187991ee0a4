"""`tandem drift`, `tandem quality` and drift references for saved scikit-learn models, as
a user runs them: real processes on a real store."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from tandem.settings import Settings
from tests.cli.test_cli import _run
from tests.conftest import app_client

NAMES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


@pytest.fixture
def iris_files(tmp_path: Path) -> tuple[Path, Path, np.ndarray]:
    iris = load_iris()
    model = LogisticRegression(max_iter=1000).fit(iris.data, iris.target_names[iris.target])
    joblib.dump(model, tmp_path / "iris.joblib")
    (tmp_path / "schema.json").write_text(json.dumps({"features": {n: "number" for n in NAMES}}))
    return tmp_path / "iris.joblib", tmp_path / "schema.json", iris.data


def _drift(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return _run(settings, "drift", "--model", "iris", *args)


def _traffic(settings: Settings, rows: np.ndarray) -> None:
    with app_client(settings) as client:
        for row in rows:
            data = dict(zip(NAMES, row.tolist(), strict=True))
            response = client.post("/v1/predict", json={"model": "iris", "input": data})
            assert response.status_code == 200, response.text


def test_reference_added_later_then_drift_in_cm_vs_mm(
    settings: Settings, iris_files: tuple[Path, Path, np.ndarray], tmp_path: Path
) -> None:
    model, schema, data = iris_files
    added = _run(
        settings, "models", "add", "iris", "--sklearn", str(model), "--schema", str(schema)
    )
    assert added.returncode == 0, added.stderr
    assert "no drift reference" in added.stderr
    version = re.search(r"version (\w+)", added.stderr).group(1)  # type: ignore[union-attr]

    missing = _drift(settings)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert f"tandem models reference iris {version}" in missing.stderr

    rows = tmp_path / "train.csv"  # columns in another order: the header says which is which
    order = [2, 0, 3, 1]
    rows.write_text(
        ",".join(NAMES[i] for i in order)
        + "\n"
        + "\n".join(",".join(str(v) for v in r[order]) for r in data)
    )
    attached = _run(settings, "models", "reference", "iris", version, str(rows))
    assert attached.returncode == 0, attached.stderr
    assert "150 of 150 rows, 4 features" in attached.stderr

    rng = np.random.default_rng(0)
    _traffic(settings, data[rng.choice(150, 60)])
    same = _drift(settings, "--json")
    assert same.returncode == 0, same.stderr
    body = json.loads(same.stdout)
    assert body["live_rows"] == 60 and body["drifted_features"] == [] and not body["drifted"]

    # One request at a time: one feature block each, until they are merged.
    compacted = _run(settings, "db", "compact")
    assert compacted.returncode == 0, compacted.stderr
    merged = re.search(
        r"merged (\d+) feature blocks into (\d+) \((\d+) predictions\)", compacted.stdout
    )
    assert merged is not None, compacted.stdout
    assert merged[1] == merged[3] and int(merged[2]) <= 2  # two if an hour ended meanwhile
    window = ("--since", body["window"]["since"], "--until", body["window"]["until"])
    after = json.loads(_drift(settings, "--json", *window).stdout)
    assert {k: v for k, v in after.items() if k != "timings"} == {
        k: v for k, v in body.items() if k != "timings"
    }
    assert "nothing to compact" in _run(settings, "db", "compact").stdout

    mm = data[rng.choice(150, 60)].copy()
    mm[:, 2] *= 10  # petal length sent in millimetres
    _traffic(settings, mm)
    table = _drift(settings, "--since", body["window"]["until"])
    assert table.returncode == 0, table.stderr
    assert "DRIFT" in table.stdout and "petal_length" in table.stdout
    assert re.search(r"petal_length\s+│\s+numeric\s+│\s+yes \(psi, ks\)", table.stdout)


def test_add_with_reference_file(
    settings: Settings, iris_files: tuple[Path, Path, np.ndarray], tmp_path: Path
) -> None:
    model, schema, data = iris_files
    np.save(tmp_path / "train.npy", data)
    added = _run(
        settings,
        *("models", "add", "iris", "--sklearn", str(model), "--schema", str(schema)),
        *("--reference", str(tmp_path / "train.npy")),
    )
    assert added.returncode == 0 and "no drift reference" not in added.stderr
    few = _drift(settings)
    assert few.returncode == 0 and "not enough data" in few.stdout and "only 0 live" in few.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("drift", "--model", "nope"), "unknown model 'nope'"),
        (("drift", "--model", "iris", "--since", "2026-02-01", "--until", "2026-01-01"), "before"),
        (("quality", "--model", "iris", "--by", "month"), "by must be 'day' or 'week'"),
        (("models", "reference", "iris", "v0", "/nonexistent.csv"), "no version 'v0'"),
    ],
)
def test_monitor_errors_are_one_line(
    settings: Settings,
    iris_files: tuple[Path, Path, np.ndarray],
    args: tuple[str, ...],
    says: str,
) -> None:
    model, schema, _ = iris_files
    _run(settings, "models", "add", "iris", "--sklearn", str(model), "--schema", str(schema))
    result = _run(settings, *args)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_bad_reference_rows_are_refused(
    settings: Settings, iris_files: tuple[Path, Path, np.ndarray], tmp_path: Path
) -> None:
    model, schema, _ = iris_files
    (tmp_path / "bad.csv").write_text("sepal_length,colour\n1,red\n")
    added = _run(
        settings,
        *("models", "add", "iris", "--sklearn", str(model), "--schema", str(schema)),
        *("--reference", str(tmp_path / "bad.csv")),
    )
    assert added.returncode == 2 and "the header must name the features" in added.stderr


def test_quality_table(settings: Settings, iris_files: tuple[Path, Path, np.ndarray]) -> None:
    model, schema, data = iris_files
    _run(settings, "models", "add", "iris", "--sklearn", str(model), "--schema", str(schema))
    review = settings.model_copy(update={"review_threshold": 1.0})
    with app_client(review) as client:
        body = client.post(
            "/v1/predict", json={"model": "iris", "input": dict(zip(NAMES, data[0], strict=True))}
        ).json()
        client.post(
            f"/v1/reviews/{body['review_id']}/decision",
            json={"label": body["label"], "reviewer": "ann"},
        )
    result = _run(settings, "quality", "--model", "iris")
    assert result.returncode == 0, result.stderr
    assert "overall" in result.stdout and "1.000" in result.stdout
    # A saved model's fallback is its baseline: here every label alike (no reference),
    # which answers the first label, setosa, right for this setosa.
    assert "no rule-based fallback" not in result.stdout
    overall = next(line for line in result.stdout.splitlines() if "overall" in line)
    assert overall.count("1.000") == 4  # model and baseline, accuracy and F1


def test_the_missing_reference_message_names_a_command_that_works(
    settings: Settings, iris_files: tuple[Path, Path, np.ndarray], tmp_path: Path
) -> None:
    """API, page and `tandem models add` name the same command; run as given (ROWS
    being a file), it makes drift answer. An added model is not sent to `tandem train`."""
    model, schema, data = iris_files
    added = _run(
        settings, "models", "add", "iris", "--sklearn", str(model), "--schema", str(schema)
    )
    assert added.returncode == 0, added.stderr
    with app_client(settings) as client:
        missing = client.get("/v1/monitor/drift", params={"model": "iris"})
        page = client.get("/monitor/drift", params={"model": "iris"})
    assert missing.status_code == 409 and page.status_code == 409
    message = missing.json()["error"]["message"]
    found = re.search(r"`(tandem models reference [^`]+ ROWS)`", message)
    assert found is not None, message
    command = found[1]
    assert command in page.text and f"`{command}`" in added.stderr
    assert "tandem train" not in message and "--reference ROWS" in message

    rows = tmp_path / "train.csv"  # the training rows with their labels, which it ignores
    labels = load_iris().target_names[load_iris().target]
    rows.write_text(
        ",".join([*NAMES, "label"])
        + "\n"
        + "\n".join(",".join([*map(str, r), y]) for r, y in zip(data, labels, strict=True))
    )
    args = command.split()[1:]
    fixed = _run(settings, *args[:-1], str(rows))
    assert fixed.returncode == 0, fixed.stderr
    with app_client(settings) as client:
        drift = client.get("/v1/monitor/drift", params={"model": "iris"})
    assert drift.status_code == 200 and drift.json()["reference_rows"] == 150
