"""Labels a team can trust: who gave each one, which one is final, and labels out to
files (paged JSON, CSV, JSON Lines, Parquet) and in from them."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from tandem.domain import Feedback, Label, final_label
from tandem.review.labels import COLUMNS, encode
from tandem.settings import Settings
from tandem.store.base import Store
from tandem.store.review_queue import Decision
from tests.cli.test_cli import _run
from tests.conftest import bearer, make_key, predict
from tests.rows import log_for_review

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
LATER = T0 + timedelta(hours=1)


def _logged(store: Store, pid: str) -> str:
    alternatives = [{"label": "good", "probability": 0.6}, {"label": "poor", "p": 0.4}]
    return log_for_review(
        store, pid, T0, features={"length": 3.0}, confidence=0.6, alternatives=alternatives
    )


def _feedback(store: Store, pid: str, label: str, at: datetime, author: str | None) -> None:
    item = Feedback(f"f-{pid}-{label}-{author}", pid, "incorrect", label, None, at)
    role = "client" if author else None
    store.add_feedback(
        item, Label(f"l-{item.id}", pid, label, "feedback", item.id, author, at, role)
    )


def _final(store: Store) -> tuple[str, str, str | None]:
    [(_prediction, label)] = store.labelled_predictions("ml-editor")
    return label.label, label.source, label.author


# -- precedence ----------------------------------------------------------------


@pytest.mark.parametrize("adjudicated_first", [True, False])
def test_adjudication_beats_review(store: Store, adjudicated_first: bool) -> None:
    rid = _logged(store, "p")
    review_at, adjudicated_at = (LATER, T0) if adjudicated_first else (T0, LATER)
    store.decide_review(Decision(rid, "poor", "ann", None, review_at, role="reviewer"))
    store.add_labels([Label("adj", "p", "good", "adjudication", "a1", "lead", adjudicated_at)])
    assert _final(store) == ("good", "adjudication", "lead")


@pytest.mark.parametrize("anonymous_first", [True, False])
def test_authenticated_feedback_beats_anonymous(store: Store, anonymous_first: bool) -> None:
    _logged(store, "p")
    anonymous_at, keyed_at = (T0, LATER) if anonymous_first else (LATER, T0)
    _feedback(store, "p", "poor", anonymous_at, None)
    _feedback(store, "p", "good", keyed_at, "shop")
    assert _final(store) == ("good", "feedback", "shop")


@pytest.mark.parametrize("imported_first", [True, False])
def test_review_beats_import_beats_feedback(store: Store, imported_first: bool) -> None:
    rid = _logged(store, "p")
    imported_at, other_at = (T0, LATER) if imported_first else (LATER, T0)
    _feedback(store, "p", "poor", other_at, "shop")
    store.add_labels([Label("imp", "p", "good", "import", "b1", "vendor", imported_at)])
    assert _final(store) == ("good", "import", "vendor")
    store.decide_review(Decision(rid, "poor", "ann", None, other_at, role="reviewer"))
    assert _final(store) == ("poor", "review", "ann")


def test_final_label_of_nothing_is_none() -> None:
    assert final_label([]) is None


# -- the API: who gave a label, and the final one ----------------------------------


def test_feedback_after_a_review_is_a_disagreement(
    review_client: TestClient, trained_home: Settings
) -> None:
    body = predict(review_client)
    pid = body["id"]
    assert review_client.get(f"/v1/predictions/{pid}").json()["final_label"] is None
    other = "good" if body["label"] == "poor" else "poor"
    decided = review_client.post(
        f"/v1/reviews/{body['review_id']}/decision", json={"label": body["label"]}
    )
    assert decided.status_code == 200, decided.text
    shop = bearer(make_key(trained_home, "client", "shop"))
    sent = review_client.post(
        f"/v1/predictions/{pid}/feedback", json={"kind": "incorrect", "label": other}, headers=shop
    )
    assert sent.status_code == 201, sent.text
    stored = sent.json()["stored_label"]
    assert (stored["author"], stored["role"], stored["source"]) == ("shop", "client", "feedback")

    shown = review_client.get(f"/v1/predictions/{pid}").json()
    final = shown["final_label"]
    assert (final["label"], final["source"], final["author"], final["role"]) == (
        body["label"],
        "review",
        "test-reviewer",
        "reviewer",
    )
    assert [(d["label"], d["author"]) for d in shown["disagreements"]] == [(other, "shop")]
    page = review_client.get(f"/predictions/{pid}").text
    assert f"<strong>{body['label']}</strong> (final; review, test-reviewer as reviewer)" in page
    assert f"{other} (feedback, shop as client; disagrees)" in page


# -- GET /v1/labels ----------------------------------------------------------------


def _labelled(client: TestClient, n: int) -> list[dict[str, Any]]:
    made = []
    for i in range(n):
        body = predict(client, {"title": f"How do I sort list number {i}?", "body": "x " * (i + 1)})
        client.post(f"/v1/reviews/{body['review_id']}/decision", json={"label": body["label"]})
        made.append(body)
    predict(client, {"title": "never labelled", "body": "nobody decides this one"})
    return made


def _all_pages(client: TestClient, limit: int, **params: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {"limit": str(limit), **params, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/labels", params=query)
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next"]
        if cursor is None:
            return items


def test_cursor_paging_visits_every_label_once(review_client: TestClient) -> None:
    made = _labelled(review_client, 7)
    items = _all_pages(review_client, 3)
    assert sorted(r["prediction_id"] for r in items) == sorted(b["id"] for b in made)
    row = next(r for r in items if r["prediction_id"] == made[0]["id"])
    assert (row["final_label"], row["label_source"], row["label_author"]) == (
        made[0]["label"],
        "review",
        "test-reviewer",
    )
    assert row["input"]["title"].startswith("How do I sort") and row["holdout"] is False
    assert _all_pages(review_client, 100, model="ml-editor") == items
    assert _all_pages(review_client, 100, model="other") == []
    assert _all_pages(review_client, 100, since="2999-01-01") == []


def test_bad_since_format_and_cursor_are_422_with_a_message(review_client: TestClient) -> None:
    for params, message in (
        ({"since": "yesterday"}, "since='yesterday' is not a date"),
        ({"format": "xlsx"}, "'json', 'csv', 'jsonl' or 'parquet'"),
        ({"cursor": "!!"}, "pass the `next` of the previous page"),
    ):
        answer = review_client.get("/v1/labels", params=params)
        assert answer.status_code == 422 and message in answer.text, answer.text


def _read(data: bytes, fmt: str) -> list[dict[str, Any]]:
    """An export read back the way a notebook would, as JSON-shaped rows."""
    if fmt == "jsonl":
        return [json.loads(line) for line in data.decode().splitlines()]
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(data.decode())))
        assert rows == [] or list(rows[0]) == list(COLUMNS)
        return [
            {
                **r,
                "input": json.loads(r["input"]),
                "features": json.loads(r["features"]),
                "confidence": float(r["confidence"]),
                "disagreements": int(r["disagreements"]),
                "holdout": r["holdout"] == "True",
                "label_author": r["label_author"] or None,
                "label_role": r["label_role"] or None,
            }
            for r in rows
        ]
    table = pq.read_table(io.BytesIO(data))
    assert table.column_names == list(COLUMNS)
    return [
        {
            **r,
            "input": json.loads(r["input"]),
            "features": json.loads(r["features"]),
            "created_at": r["created_at"].isoformat(),
            "labelled_at": r["labelled_at"].isoformat(),
        }
        for r in table.to_pylist()
    ]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_streamed_export_round_trips(review_client: TestClient, fmt: str) -> None:
    _labelled(review_client, 3)
    paged = _all_pages(review_client, 2)
    streamed = review_client.get("/v1/labels", params={"format": fmt})
    assert streamed.status_code == 200, streamed.text
    assert _read(streamed.content, fmt) == paged


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_encoding_writes_one_page_at_a_time(fmt: str) -> None:
    row = {
        "prediction_id": "p",
        "created_at": T0.isoformat(),
        "model": "m",
        "model_version": "v1",
        "input": {"title": 'a, "quoted"\nline'},
        "features": {"length": 1.5},
        "predicted_label": "good",
        "confidence": 0.75,
        "final_label": "poor",
        "label_source": "review",
        "label_author": "ann",
        "label_role": "reviewer",
        "labelled_at": LATER.isoformat(),
        "disagreements": 1,
        "holdout": True,
    }
    rows = [{**row, "prediction_id": f"p{i}"} for i in range(1200)]
    chunks = list(encode(iter(rows), fmt))  # type: ignore[arg-type]
    assert len([c for c in chunks if c]) >= 3  # 500-row pages, not one buffer
    assert _read(b"".join(chunks), fmt) == rows


def test_parquet_without_pyarrow_is_a_422_saying_how_to_install_it(
    review_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _labelled(review_client, 1)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)  # as if not installed
    answer = review_client.get("/v1/labels", params={"format": "parquet"})
    assert answer.status_code == 422 and "pip install 'tandem[parquet]'" in answer.text
    assert review_client.get("/v1/labels", params={"format": "csv"}).status_code == 200


# -- the CLI: export and import ----------------------------------------------------


def _tandem(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return _run(settings, *args)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_cli_export_matches_the_api(
    review_client: TestClient, trained_home: Settings, tmp_path: Path, fmt: str
) -> None:
    _labelled(review_client, 2)
    out = tmp_path / f"labels.{fmt}"
    export = ("labels", "export", "--format", fmt, "--out", str(out))
    done = _tandem(trained_home, *export, "--model", "ml-editor")
    assert done.returncode == 0, done.stderr
    assert "wrote 2 labelled predictions" in done.stderr
    assert _read(out.read_bytes(), fmt) == _all_pages(review_client, 100)
    since = _tandem(trained_home, *export, "--since", "2999-01-01")
    assert since.returncode == 0 and _read(out.read_bytes(), fmt) == []


def test_cli_errors_are_one_line(trained_home: Settings, tmp_path: Path) -> None:
    out = str(tmp_path / "x.csv")
    for args, message in (
        (("export", "--since", "last week", "--out", out), "--since='last week' is not a date"),
        (("export", "--format", "xlsx", "--out", out), "use one of: csv, jsonl, parquet"),
        (("import", str(tmp_path / "missing.csv"), "--author", "a"), "no file"),
    ):
        done = _tandem(trained_home, "labels", *args)
        assert done.returncode == 2 and message in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_import_checks_every_row_and_dry_run_writes_nothing(
    review_client: TestClient, trained_home: Settings, store: Store, tmp_path: Path
) -> None:
    first = predict(review_client)
    second = predict(review_client, {"title": "Why is my loop slow?", "body": "for i in x"})
    other = "good" if first["label"] == "poor" else "poor"
    good = tmp_path / "labels.csv"
    good.write_text(f"prediction_id,label\n{first['id']},{other}\n{second['id']},good\n")

    dry = _tandem(trained_home, "labels", "import", str(good), "--author", "vendor", "--dry-run")
    assert dry.returncode == 0 and "would import 2 labels" in dry.stderr, dry.stderr
    assert store.list_labels() == []

    unknown_label = tmp_path / "bad.jsonl"
    unknown_label.write_text(
        json.dumps({"prediction_id": first["id"], "label": "good"})
        + "\n"
        + json.dumps({"prediction_id": second["id"], "label": "great"})
        + "\n"
    )
    bad = _tandem(trained_home, "labels", "import", str(unknown_label), "--author", "vendor")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert "row 2: label 'great' is not one of the labels of model 'ml-editor':" in bad.stderr
    assert "good" in bad.stderr and "poor" in bad.stderr
    missing = tmp_path / "missing.csv"
    missing.write_text(f"prediction_id,label\n{first['id']},good\nnope,good\n")
    bad = _tandem(trained_home, "labels", "import", str(missing), "--author", "vendor")
    assert bad.returncode == 2 and "row 2: no prediction with id 'nope'" in bad.stderr
    assert store.list_labels() == []  # a bad row refuses the whole file

    done = _tandem(trained_home, "labels", "import", str(good), "--author", "vendor")
    assert done.returncode == 0 and "imported 2 labels" in done.stderr, done.stderr
    shown = review_client.get(f"/v1/predictions/{first['id']}").json()["final_label"]
    assert (shown["label"], shown["source"], shown["author"]) == (other, "import", "vendor")


# -- the migration: labels stored before roles were recorded -------------------------


def test_the_migration_backfills_roles_from_the_keys(settings: Settings) -> None:
    from alembic import command

    from tandem.auth.keys import create_key
    from tandem.store import make_engine, open_store
    from tandem.store.migrate import alembic_config, upgrade

    store = open_store(settings.resolved_database_url)
    for pid in ("p1", "p2", "p3"):
        rid = _logged(store, pid)
        if pid != "p3":
            store.decide_review(Decision(rid, "poor", "ann" if pid == "p1" else "bob", None, T0))
    _feedback(store, "p3", "poor", T0, None)
    create_key(store, "admin", "ann")
    store.close()

    engine = make_engine(settings.resolved_database_url)
    url = engine.url.render_as_string(hide_password=False)
    with engine.begin() as conn:
        cfg = alembic_config(url)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0010")  # the labels table as it was before roles
    upgrade(engine)
    engine.dispose()

    store = open_store(settings.resolved_database_url)
    try:
        found = {(lab.prediction_id, lab.author, lab.role) for lab in store.list_labels()}
        assert found == {("p1", "ann", "admin"), ("p2", "bob", "reviewer"), ("p3", None, None)}
        assert [lab.label for _p, lab in store.labelled_predictions("ml-editor")] == ["poor"] * 3
    finally:
        store.close()
