"""``urbanpulse keys`` and ``urbanpulse audit``: tokens shown once, product errors one
line with exit 2, a tampered log makes ``audit verify`` exit 1."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from urbanpulse.cli import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_keys_issue_list_rotate_revoke(tmp_path: Path) -> None:
    lake = str(tmp_path / "lake")
    code, out, err = run(
        "keys", "issue", "--scope", "admin", "--name", "First admin", "--lake", lake, "--json"
    )
    assert code == 0, err
    issued = json.loads(out)
    key_id, token = issued["key"]["key_id"], issued["token"]
    assert token.startswith(f"up_{key_id}_")
    assert (tmp_path / "access.sqlite3").exists() and not (tmp_path / "lake").exists()

    code, out, _ = run("keys", "list", "--lake", lake, "--json")
    (listed,) = json.loads(out)
    assert listed["key_id"] == key_id and listed["active"] and token not in out

    code, out, _ = run("keys", "rotate", key_id, "--lake", lake, "--json")
    assert code == 0 and json.loads(out)["token"] != token
    code, out, _ = run("keys", "revoke", key_id, "--lake", lake)
    assert code == 0 and "revoked" in out

    code, out, _ = run("audit", "list", "--lake", lake, "--json")
    paths = [entry["path"] for entry in json.loads(out)]
    assert paths == [f"keys issue {key_id}", f"keys rotate {key_id}", f"keys revoke {key_id}"]


def test_product_errors_are_one_line_with_exit_2(tmp_path: Path) -> None:
    lake = str(tmp_path / "lake")
    for args in (
        ("keys", "issue", "--scope", "public", "--name", "x", "--lake", lake),
        ("keys", "rotate", "nope", "--lake", lake),
        ("keys", "revoke", "nope", "--lake", lake),
    ):
        code, out, err = run(*args)
        assert code == 2, (args, out, err)
        assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
        assert "Traceback" not in out + err


def test_audit_verify_and_export(tmp_path: Path) -> None:
    lake = str(tmp_path / "lake")
    for name in ("a", "b", "c"):
        run("keys", "issue", "--scope", "business", "--name", name, "--lake", lake)
    code, out, _ = run("audit", "verify", "--lake", lake)
    assert code == 0 and "3 entries" in out and "intact" in out

    csv_file = tmp_path / "audit.csv"
    code, _, err = run("audit", "export", "--lake", lake, "--output", str(csv_file))
    assert code == 0 and "3 entries" in err
    assert csv_file.read_text().splitlines()[0] == (
        "seq,at,actor,scope,method,path,status,detail,prev_hash,hash"
    )
    code, out, _ = run("audit", "export", "--lake", lake, "--format", "json")
    assert [entry["seq"] for entry in json.loads(out)] == [1, 2, 3]

    with sqlite3.connect(tmp_path / "access.sqlite3") as conn:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("UPDATE audit_log SET actor = 'cli:someone-else' WHERE seq = 2")
    code, _, err = run("audit", "verify", "--lake", lake)
    assert code == 1 and "entry 2 was changed" in err
