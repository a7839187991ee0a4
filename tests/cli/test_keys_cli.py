"""`tandem keys` as an operator runs it, and the demo's keys."""

from __future__ import annotations

import io
import stat
from pathlib import Path

from fastapi.testclient import TestClient
from rich.console import Console

from tandem.app import create_app
from tandem.auth.keys import create_key, revoke_key
from tandem.cli.keys import DEMO_KEYS_FILE, announce_keys, demo_keys
from tandem.settings import Settings
from tandem.store.base import Store
from tests.cli.test_cli import _run
from tests.conftest import bearer, make_key


def test_create_prints_the_key_alone_on_the_last_line(trained_home: Settings) -> None:
    made = _run(trained_home, "keys", "create", "--role", "reviewer", "--name", "ann")
    assert made.returncode == 0, made.stderr
    key = made.stdout.splitlines()[-1]
    assert key.startswith("tdm_") and " " not in key
    assert "reviewer key 'ann'" in made.stdout
    with TestClient(create_app(trained_home), headers=bearer(key)) as c:
        assert c.get("/v1/reviews").status_code == 200
        assert c.get("/v1/models").status_code == 403


def test_an_unknown_role_is_one_line_listing_the_roles(settings: Settings) -> None:
    made = _run(settings, "keys", "create", "--role", "root", "--name", "x")
    assert made.returncode == 2 and "Traceback" not in made.stderr
    assert "unknown role 'root'; valid roles: client, reviewer, admin" in made.stderr
    assert made.stdout == ""


def test_list_shows_keys_without_secrets_and_revoke_takes_effect(settings: Settings) -> None:
    made = _run(settings, "keys", "create", "--role", "client", "--name", "shop")
    key = made.stdout.splitlines()[-1]
    _run(settings, "keys", "create", "--role", "admin", "--name", "ops")
    listed = _run(settings, "keys", "list").stdout
    assert "shop" in listed and "client" in listed and key[:12] in listed
    assert key not in listed and key[12:20] not in listed
    assert listed.count("active") == 2

    revoked = _run(settings, "keys", "revoke", "shop")
    assert revoked.returncode == 0 and "revoked client key 'shop'" in revoked.stdout
    assert "revoked 20" in _run(settings, "keys", "list").stdout
    again = _run(settings, "keys", "revoke", "shop")
    assert again.returncode == 0 and "already revoked" in again.stdout
    unknown = _run(settings, "keys", "revoke", "nobody")
    assert unknown.returncode == 2 and "no API key with id or name 'nobody'" in unknown.stderr


def test_demo_keys_are_made_once_and_kept_private(store: Store, tmp_path: Path) -> None:
    made = demo_keys(store, tmp_path)
    assert made is not None and [(r, n) for r, n, _ in made] == [
        ("admin", "demo-admin"),
        ("reviewer", "demo-reviewer"),
        ("client", "demo-client"),
    ]
    path = tmp_path / DEMO_KEYS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert f"CLIENT_KEY={made[2][2]}" in path.read_text()
    assert demo_keys(store, tmp_path) == made  # a later start shows the same keys
    revoke_key(store, "demo-client")
    assert demo_keys(store, tmp_path) == made[:2]
    assert len(store.list_api_keys()) == 3


def test_serve_warns_when_there_is_no_key_and_never_makes_one_unasked(
    store: Store, tmp_path: Path
) -> None:
    said = io.StringIO()
    announce_keys(store, tmp_path, False, Console(file=said, width=200))
    assert "no API keys yet" in said.getvalue() and store.list_api_keys() == []
    assert not (tmp_path / DEMO_KEYS_FILE).exists()


def test_demo_keys_leave_a_deployment_with_keys_alone(store: Store, tmp_path: Path) -> None:
    create_key(store, "admin", "ops")
    assert demo_keys(store, tmp_path) is None
    assert len(store.list_api_keys()) == 1


def test_logout_ends_a_keys_page_sessions_and_keeps_the_key(trained_home: Settings) -> None:
    settings = trained_home.model_copy(update={"auth_cache_seconds": 0})
    key = make_key(settings, "reviewer", "ann")
    with TestClient(create_app(settings)) as browser:
        assert browser.post("/login", data={"key": key}, follow_redirects=False).status_code == 303
        assert browser.get("/review").status_code == 200
        ended = _run(settings, "keys", "logout", "ann")
        assert ended.returncode == 0, ended.stderr
        assert "ended 1 page session(s) of reviewer key 'ann'" in ended.stdout
        assert browser.get("/review", follow_redirects=False).status_code == 303
        assert browser.get("/v1/reviews", headers=bearer(key)).status_code == 200
