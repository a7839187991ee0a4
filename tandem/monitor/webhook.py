"""Alert transitions to a webhook: one JSON POST each, with a short timeout.

Plain urllib (no extra dependency); any failure is logged and returned as text for
the alert's record, never raised: a webhook that is down must not stop alerts from
being evaluated and stored."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from tandem import __version__

log = logging.getLogger("tandem")


def redact_url(url: str) -> str:
    """Scheme and host only: a webhook's path or query is often its secret (a token),
    and its user info a password; neither belongs in a log or an alert's record."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<webhook URL>"
    return f"{parts.scheme}://{host}{port}" if parts.scheme and host else "<webhook URL>"


def post_json(url: str, payload: dict[str, Any], timeout_s: float) -> str:
    """POST `payload`; return "sent: HTTP <status>" or "failed: <why>" (the URL in it,
    as in the log, redacted to its scheme and host)."""
    body = json.dumps(payload, default=str).encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": f"tandem/{__version__}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            return f"sent: HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        outcome = f"failed: HTTP {exc.code} {exc.reason}"
    except urllib.error.URLError as exc:
        outcome = f"failed: {exc.reason}"
    except (OSError, ValueError) as exc:  # timeouts, resets, a malformed URL
        outcome = f"failed: {type(exc).__name__}: {exc}"
    outcome = outcome.replace(url, redact_url(url))
    log.warning("alert webhook %s %s", redact_url(url), outcome)
    return outcome
