"""The PostgreSQL pass of scripts/test.sh runs only the tests that can reach the test
server's database (tests/conftest.py: reaches_the_database); the others ran, unchanged,
in the SQLite pass."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tandem.settings import Settings
from tests.conftest import reaches_the_database


def test_a_test_given_the_database_reaches_it(
    settings: Settings, request: pytest.FixtureRequest
) -> None:
    assert reaches_the_database(request.node)


def test_a_test_given_no_store_does_not(request: pytest.FixtureRequest) -> None:
    assert not reaches_the_database(request.node)


def test_a_module_that_asks_for_a_database_itself_reaches_it() -> None:
    from tests.serving import test_workers  # its tests call fresh_database themselves

    item = SimpleNamespace(fixturenames=["tmp_path"], module=test_workers)
    assert reaches_the_database(item)  # type: ignore[arg-type]
    alone = SimpleNamespace(fixturenames=["tmp_path"], module=SimpleNamespace())
    assert not reaches_the_database(alone)  # type: ignore[arg-type]
