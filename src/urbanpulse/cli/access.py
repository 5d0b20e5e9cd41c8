"""``urbanpulse keys ...`` and ``urbanpulse audit ...``: API keys and the audit log.

Thin commands over :mod:`urbanpulse.access`, for whoever runs the server (and so may
read its store): the first admin key is issued here. Every key command is itself
written to the audit log, by the local user's name.
"""

from __future__ import annotations

import getpass
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from urbanpulse.access.audit import (
    get_entry_record,
    record_event,
    verify_audit,
    write_audit_csv,
    write_audit_json,
)
from urbanpulse.access.keys import issue_key, revoke_key, rotate_key
from urbanpulse.access.records import ApiKey
from urbanpulse.access.service import build_access_store
from urbanpulse.access.store import AccessStore
from urbanpulse.cli.common import (
    JSON_OPTION,
    LAKE_OPTION,
    build_group,
    console,
    err_console,
    get_settings,
    product_errors,
)
from urbanpulse.settings import Settings

keys_app = build_group(help="API keys: issue, list, rotate and revoke.", no_args_is_help=True)
audit_app = build_group(
    help="The audit log, sealed with a key outside the store: list, export, verify.",
    no_args_is_help=True,
)
_console, _err, _product_errors = console, err_console, product_errors


def _open_store(lake: Path | None) -> AccessStore:
    # The access store lies beside the lake (see access_db).
    return build_access_store(get_settings(lake))


def _audit(store: AccessStore, what: str, key: ApiKey) -> None:
    record_event(store, actor=f"cli:{getpass.getuser()}", scope="admin", method="CLI",
                 path=f"keys {what} {key.key_id}", status=0, detail=key.scope)  # fmt: skip


def _key_record(key: ApiKey) -> dict[str, object]:
    return {
        "key_id": key.key_id,
        "name": key.name,
        "scope": key.scope,
        "created_at": key.created_at.isoformat(),
        "rotated_at": key.rotated_at.isoformat() if key.rotated_at else None,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
        "active": key.active,
    }


def _show_token(key: ApiKey, token: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"key": _key_record(key), "token": token}))
        return
    _console.print(f"key {key.key_id} ({key.scope}, {key.name})")
    _console.print(token, highlight=False, soft_wrap=True)
    _err.print("Keep this token now: it is shown once and cannot be read again.")


@keys_app.command("issue")
def issue_command(
    scope: str = typer.Option(..., "--scope", help="business, government or admin."),
    name: str = typer.Option(..., "--name", help="Whose key, for people."),
    lake: Path | None = LAKE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Issue a key and print its token once (the first admin key is made this way)."""
    with _product_errors():
        store = _open_store(lake)
        key, token = issue_key(store, scope=scope, name=name)
        _audit(store, "issue", key)
    _show_token(key, token, as_json)


@keys_app.command("list")
def list_command(lake: Path | None = LAKE_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Every key, revoked ones too; never a token."""
    with _product_errors():
        keys = _open_store(lake).list_keys()
    if as_json:
        print(json.dumps([_key_record(key) for key in keys]))
        return
    table = Table("id", "name", "scope", "created (UTC)", "rotated", "state")
    for key in keys:
        table.add_row(key.key_id, key.name, key.scope, f"{key.created_at:%Y-%m-%d %H:%M}",
                      f"{key.rotated_at:%Y-%m-%d %H:%M}" if key.rotated_at else "",
                      "active" if key.active else "revoked")  # fmt: skip
    _console.print(table)


@keys_app.command("rotate")
def rotate_command(
    key_id: str = typer.Argument(..., help="Id of the key."),
    lake: Path | None = LAKE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Give a key a new token (printed once); the old one stops working at once."""
    with _product_errors():
        store = _open_store(lake)
        key, token = rotate_key(store, key_id)
        _audit(store, "rotate", key)
    _show_token(key, token, as_json)


@keys_app.command("revoke")
def revoke_command(
    key_id: str = typer.Argument(..., help="Id of the key."),
    lake: Path | None = LAKE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Revoke a key for good."""
    with _product_errors():
        store = _open_store(lake)
        key = revoke_key(store, key_id)
        _audit(store, "revoke", key)
    if as_json:
        print(json.dumps(_key_record(key)))
    else:
        _console.print(f"key {key.key_id} revoked")


def _parse_time(text: str | None, name: str, settings: Settings) -> datetime | None:
    """An ISO time; without an offset, local time of the region (as the API reads it)."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO time", param_hint=name) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(settings.local_timezone))


@audit_app.command("list")
def audit_list_command(
    actor: str | None = typer.Option(None, help="Exactly, e.g. key:1a2b3c4d5e6f."),
    scope: str | None = typer.Option(None, help="public, business, government or admin."),
    path: str | None = typer.Option(None, help="Substring of the request path."),
    status: int | None = typer.Option(None, help="HTTP status (0: a CLI action)."),
    start: str | None = typer.Option(None, help="From (ISO time, inclusive)."),
    end: str | None = typer.Option(None, help="Until (ISO time, exclusive)."),
    limit: int = typer.Option(100, min=1, help="Newest entries to show."),
    lake: Path | None = LAKE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Entries of the audit log, oldest first, filtered."""
    with _product_errors():
        settings = get_settings(lake)
        entries = build_access_store(settings).read_audit(
            actor=actor, scope=scope, path=path, status=status,
            start=_parse_time(start, "--start", settings),
            end=_parse_time(end, "--end", settings), limit=limit,
        )  # fmt: skip
    if as_json:
        print(json.dumps([get_entry_record(e) for e in entries], ensure_ascii=False))
        return
    table = Table("seq", "at (UTC)", "actor", "scope", "method", "path", "status")
    for e in entries:
        table.add_row(str(e.seq), f"{e.at:%Y-%m-%d %H:%M:%S}", e.actor, e.scope, e.method,
                      e.path, str(e.status))  # fmt: skip
    _console.print(table)


@audit_app.command("export")
def audit_export_command(
    output: Path | None = typer.Option(None, "--output", "-o", help="File [default: stdout]."),
    format: str = typer.Option("csv", "--format", help="csv or json."),
    lake: Path | None = LAKE_OPTION,
) -> None:
    """The whole log as CSV or JSON (columns: seq, at, actor, scope, method, path,
    status, detail, prev_hash, hash)."""
    with _product_errors():
        if format not in ("csv", "json"):
            raise typer.BadParameter("choose csv or json", param_hint="--format")
        entries = _open_store(lake).read_audit()
        text = write_audit_csv(entries) if format == "csv" else write_audit_json(entries)
        if output is None:
            print(text, end="")
            return
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            _err.print(f"[red]error:[/red] cannot write {output}: {exc.strerror}")
            raise typer.Exit(code=2) from None
    _err.print(f"{len(entries)} entries written to {output}")


@audit_app.command("verify")
def audit_verify_command(lake: Path | None = LAKE_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Recompute the hash chain; exit 1 when an entry was changed or removed."""
    with _product_errors():
        result = verify_audit(_open_store(lake))
    if as_json:
        print(json.dumps(vars(result)))
    else:
        (_console if result.ok else _err).print(f"{result.entries} entries: {result.message}")
    if not result.ok:
        raise typer.Exit(code=1)
