"""The review benchmark's bulk seeding leaves the store the product would have written,
and its check stops a run whose store differs (counts, rows, indexes)."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from tandem.store import Store, open_store
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))  # the scripts import siblings the same way

import review  # noqa: E402


def _fails(store: Store, reference: Store, seeded: int) -> str:
    with pytest.raises(SystemExit) as stopped:
        review.check_store(store, reference, 0, seeded, random.Random(3))
    return str(stopped.value)


def test_seeded_store_matches_the_product_and_its_check_catches_differences(
    store: Store, tmp_path: Path
) -> None:
    reference = open_store(f"sqlite:///{tmp_path}/reference.db")
    seeder = review.Seeder(store)
    seeder.seed(0, 2000, 700)
    seeder.seed(2000, 1000, 700)  # a second round adds to the first, as sizes grow
    review.check_store(store, reference, 0, 3000, random.Random(1))
    review.check_store(store, reference, 2000, 3000, random.Random(2))
    engine = store.engine  # type: ignore[attr-defined]
    assert store.queue_counts()[("digits", "low_confidence", "7")][0] > 0

    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE review_counts SET pending = pending + 1")
    assert "counts" in _fails(store, reference, 3000)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE review_counts SET pending = pending - 1")

    with engine.begin() as conn:
        definition = review.index_definitions(conn)["ix_review_items_bucket_confidence"]
        conn.exec_driver_sql("DROP INDEX ix_review_items_bucket_confidence")
    assert "indexes" in _fails(store, reference, 3000)
    with engine.begin() as conn:
        conn.exec_driver_sql(definition)
    review.check_store(store, reference, 0, 3000, random.Random(4))

    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE review_items SET confidence = 0.5")
    assert "review item" in _fails(store, reference, 3000)
    reference.close()
