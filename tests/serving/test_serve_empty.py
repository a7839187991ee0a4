"""`tandem serve` on an empty registry: it trains nothing, starts at once, and its pages
say how to put a first model in production; a model trained meanwhile is served."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tandem.settings import Settings
from tests.conftest import bearer, env_for, free_port, fresh_database, tandem_cli, tandem_serve

pytestmark = pytest.mark.server


def _tandem(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = tandem_cli(env, *args)
    assert done.returncode == 0, done.stderr
    return done


def _wait_up(proc: subprocess.Popen[bytes], url: str, log_path: Path) -> httpx.Response:
    """The first answer of /healthz (503 while no model is loaded)."""
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            return httpx.get(f"{url}/healthz", timeout=1)
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"tandem serve did not answer: {log_path.read_text()}")


def test_serve_with_no_model_says_how_to_add_one(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with fresh_database("empty") as db_url:
        env = env_for(Settings(home=home, database_url=db_url))
        port, log_path = free_port(), tmp_path / "serve.log"
        with tandem_serve(env, port, log_path) as proc:
            url = f"http://127.0.0.1:{port}"
            health = _wait_up(proc, url, log_path)
            assert health.status_code == 503, health.text
            assert health.json()["status"] == "no model loaded"
            assert "no model in production yet" in log_path.read_text()
            assert "training" not in log_path.read_text()
            assert _tandem(env, "models", "list").stdout.count("\n") <= 4  # header only

            admin = _tandem(env, "keys", "create", "--role", "admin", "--name", "op")
            key = admin.stdout.splitlines()[-1]
            with httpx.Client(base_url=url, timeout=10) as http:
                home_page = http.get("/")
                assert home_page.status_code == 200
                for page in (
                    home_page,
                    http.get("/review", headers=bearer(key)),
                    http.get("/models", headers=bearer(key)),
                ):
                    assert page.status_code == 200, page.text
                    assert "No model is served yet" in page.text
                    assert "<code>tandem train ml-editor</code>" in page.text
                    assert "<code>tandem train digits</code>" in page.text
                    assert "<code>tandem models add NAME --sklearn" in page.text

                about = http.get("/about").text
                assert "Stack Exchange" in about and "handwritten digits" in about.lower()
                assert '<a href="https://creativecommons.org/licenses/by-sa/4.0/">' in about

                _tandem(env, "train", "digits")
                assert http.get("/", follow_redirects=False).status_code == 307
                review = http.get("/review", headers=bearer(key)).text
                assert "No model is served yet" not in review
                answer = http.post(
                    "/v1/predict",
                    headers=bearer(key),
                    json={"model": "digits", "input": {"pixels": [0] * 64}},
                )
                assert answer.status_code == 200, answer.text
                assert http.get("/healthz").json()["models"] == {
                    "digits": answer.json()["model_version"]
                }
