"""`tandem keys`: create, list and revoke API keys. Run by an operator on the host,
with the store's credentials: the CLI itself needs no key."""

import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from tandem.auth.roles import ROLES, Role
from tandem.cli.env import keys_only
from tandem.files import private_dir, write_private

if TYPE_CHECKING:
    from tandem.store.base import Store

keys_app = typer.Typer(
    no_args_is_help=True,
    help="API keys: create (printed once), list (never the keys), revoke, log out.",
)
out = Console(width=None if sys.stdout.isatty() else 200, highlight=False)
DEMO_KEYS_FILE = "demo-keys.txt"


def _when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M}" if at else "–"


@keys_app.command("create")
def create(
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")],
    name: Annotated[
        str, typer.Option(help="Who it is for; recorded as reviewer/approver on their actions.")
    ],
) -> None:
    """Create a key and print it, alone, on the last line (it is not stored: copy it now)."""
    from tandem.auth.keys import create_key

    with keys_only() as store:
        key, raw = create_key(store, role, name)
    out.print(f"created {key.role} key {key.name!r} (id {key.id}, shown as {key.prefix}…)")
    out.print(
        "copy it now, it is not shown again; clients send it as 'Authorization: Bearer <key>'"
    )
    print(raw)


@keys_app.command("list")
def list_keys() -> None:
    """Every key with its role, prefix and use; the keys themselves are never stored."""
    with keys_only() as store:
        keys = store.list_api_keys()
    table = Table("id", "name", "role", "key", "created", "last used", "status")
    for k in keys:
        status = f"revoked {_when(k.revoked_at)}" if k.revoked_at else "active"
        table.add_row(
            k.id, k.name, k.role, f"{k.prefix}…", _when(k.created_at), _when(k.last_used_at), status
        )
    out.print(table if keys else "no API keys yet: `tandem keys create --role ROLE --name NAME`")


@keys_app.command("revoke")
def revoke(
    key: Annotated[str, typer.Argument(help="The key's id, or its name if only one is active.")],
) -> None:
    """Revoke a key and end the page sessions opened with it: refused everywhere within
    TANDEM_AUTH_CACHE_SECONDS (default 5 s)."""
    from tandem.auth.keys import revoke_key

    with keys_only() as store:
        found, changed = revoke_key(store, key)
    if changed:
        out.print(f"revoked {found.role} key {found.name!r} (id {found.id})")
    else:
        out.print(f"{found.role} key {found.name!r} (id {found.id}) was already revoked")


@keys_app.command("logout")
def logout(
    key: Annotated[str, typer.Argument(help="The key's id, or its name if only one is active.")],
) -> None:
    """End every page session opened with a key (a lost laptop), leaving the key valid:
    its browsers must log in again within TANDEM_AUTH_CACHE_SECONDS (default 5 s)."""
    from tandem.auth.keys import find_key
    from tandem.auth.sessions import end_sessions

    with keys_only() as store:
        found = find_key(store, key)
        ended = end_sessions(store, found.id)
    out.print(f"ended {ended} page session(s) of {found.role} key {found.name!r} (id {found.id})")


def demo_keys(store: "Store", home: Path) -> list[tuple[str, str, str]] | None:
    """For a demo on a fresh home: one key per role, saved to a 0600 file in the home.

    Returns (role, name, key) for the keys to show: the new ones, or on a later start
    the saved ones still active; None when the store has keys this did not create."""
    from tandem.auth.keys import create_key, hash_key

    path = home / DEMO_KEYS_FILE
    existing = store.list_api_keys()
    if existing:
        if not path.exists():
            return None
        active = {k.key_hash for k in existing if k.revoked_at is None}
        return [k for k in _read_demo_keys(path) if hash_key(k[2]) in active]
    made = []
    for role in (Role.admin, Role.reviewer, Role.client):
        key, raw = create_key(store, role, f"demo-{role}")
        made.append((str(key.role), key.name, raw))
    private_dir(home)
    lines = [
        "# Tandem demo keys, one per role (`tandem keys revoke NAME` to revoke one).",
        '# In a shell: . ./demo-keys.txt; curl -H "Authorization: Bearer $CLIENT_KEY" ...',
    ]
    lines += [f"{role.upper()}_KEY={raw}  # {name}" for role, name, raw in made]
    write_private(path, ("\n".join(lines) + "\n").encode())
    return made


def _read_demo_keys(path: Path) -> list[tuple[str, str, str]]:
    found = []
    for line in path.read_text().splitlines():
        if "_KEY=" in line and not line.startswith("#"):
            var, _, rest = line.partition("=")
            raw, _, name = rest.partition("  # ")
            found.append((var.removesuffix("_KEY").lower(), name.strip(), raw.strip()))
    return found


def announce_keys(store: "Store", home: Path, demo: bool, console: Console) -> None:
    """What `tandem serve` says about keys: the demo keys with --demo-keys, and a
    warning when no key exists (every request but /healthz and /login is refused)."""
    shown = demo_keys(store, home) if demo else None
    if shown:
        out.print(f"API keys for this demo (saved in {home / DEMO_KEYS_FILE}, mode 0600):")
        for role, name, raw in shown:
            out.print(f"  {role:<9} {name:<14} {raw}")
        out.print("log in to the pages at /login with the reviewer or admin key")
    elif not any(k.revoked_at is None for k in store.list_api_keys()):
        console.print(
            "[yellow]no API keys yet:[/] every request but /healthz will be refused; "
            "create one with `tandem keys create --role admin --name YOUR-NAME`"
        )
