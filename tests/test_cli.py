"""The command line, used as a person would: help, ingest, quarantine, profile."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from urbanpulse.cli import app

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
runner = CliRunner()
# The small station counts file with its mapping: 5 rows stored, 4 quarantined.
INGEST_STATION_COUNTS = [
    "ingest",
    str(FIXTURES / "station_counts.csv"),
    "-m",
    str(FIXTURES / "station_counts.toml"),
]


def top_level_commands() -> list[str]:
    import typer.main

    group = typer.main.get_command(app)
    return sorted(group.commands)  # type: ignore[attr-defined]


def test_every_command_explains_itself():
    for name in top_level_commands():
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Usage" in result.output


def test_the_readme_lists_every_command():
    readme = (REPO / "README.md").read_text()
    listed = set(re.findall(r"^urbanpulse (\w+)", readme, flags=re.M))
    assert set(top_level_commands()) <= listed


def test_ingest_then_quarantine_then_export(tmp_path):
    lake = str(tmp_path / "lake")
    args = INGEST_STATION_COUNTS
    result = runner.invoke(app, [*args, "--lake", lake, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    assert summary["observations_stored"] == 5 and summary["quarantined_total"] == 4

    shown = runner.invoke(app, ["quarantine", "--lake", lake, "--reason", "time"])
    assert shown.exit_code == 0 and "unparseable time" in shown.output

    out = tmp_path / "rejected.csv"
    exported = runner.invoke(app, ["quarantine", "--lake", lake, "--export", str(out)])
    assert exported.exit_code == 0
    frame = pd.read_csv(out)
    assert len(frame) == 4
    assert {"source", "line", "reason", "raw", "column_name"} <= set(frame.columns)


def test_a_file_the_mapping_does_not_fit_fails_the_command(tmp_path):
    """Bad rows are quarantined and the command succeeds; a whole file refused (its
    header lacks a mapped column) is a mistake scripts must see: exit 1, one line."""
    mapping = (FIXTURES / "station_counts.toml").read_text("utf-8")
    wrong = tmp_path / "wrong.toml"
    columns = re.findall(r'column = "([^"]+)"', mapping)
    wrong.write_text(mapping.replace(f'"{columns[0]}"', '"no_such_column"', 1), "utf-8")
    lake = str(tmp_path / "lake")
    good = [str(FIXTURES / "station_counts.csv"), "-m", str(FIXTURES / "station_counts.toml")]
    assert runner.invoke(app, ["ingest", *good, "--lake", lake]).exit_code == 0
    args = ["ingest", str(FIXTURES / "station_counts.csv"), "-m", str(wrong), "--lake", lake]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 1
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    assert summary["files_rejected"] == 1
    assert "1 of 1 files were rejected whole" in result.stderr
    assert "Traceback" not in result.output


def test_profile_as_csv(tmp_path):
    lake = str(tmp_path / "lake")
    runner.invoke(
        app,
        [
            "ingest",
            str(FIXTURES / "station_counts.csv"),
            "-m",
            str(FIXTURES / "station_counts.toml"),
            "--lake",
            lake,
        ],
    )
    result = runner.invoke(
        app, ["profile", "bj-XZM", "--metric", "entries", "--period", "60", "--csv", "--lake", lake]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "day_type,period_start,period_label,mean,p50,p90,n"
    assert any(line.startswith("weekday,420,07:00,1520.0") for line in lines)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["profile", "nowhere", "--metric", "entries"], "no 'entries' observations"),
        (["ingest", "missing.csv", "-m", str(FIXTURES / "station_counts.toml")], "no such file"),
    ],
)
def test_mistakes_get_one_clear_line_and_a_nonzero_exit(tmp_path, args, message):
    result = runner.invoke(app, [*args, "--lake", str(tmp_path / "lake")])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_broken_mapping_names_the_field(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('layout = "long"\n[time]\nstep = "5min"\n')
    result = runner.invoke(
        app,
        [
            "ingest",
            str(FIXTURES / "station_counts.csv"),
            "-m",
            str(bad),
            "--lake",
            str(tmp_path / "l"),
        ],
    )
    assert result.exit_code == 2
    assert "time" in result.output and "bad.toml" in result.output


def test_the_readme_names_every_setting_and_no_other() -> None:
    """Each field of Settings is in the README (as its environment name without the
    prefix), and each URBANPULSE_ name the README gives is a field."""
    from urbanpulse.settings import Settings

    readme = (REPO / "README.md").read_text()
    fields = {name.upper() for name in Settings.model_fields}
    assert {f for f in fields if f"`{f}" not in readme and f"URBANPULSE_{f}" not in readme} == set()
    named = set(re.findall(r"URBANPULSE_([A-Z0-9_]+)", readme)) - {"SHARED_DATA"}  # a test's
    assert named <= fields


def test_quarantine_shows_a_file_level_row(tmp_path) -> None:
    """A file that could not be read at all is quarantined with no line, column or raw
    text; listing it prints the row instead of crashing."""
    from urbanpulse.store import Commit, Lake, new_batch_id, write_table_file

    lake = Lake(tmp_path / "lake")
    batch_id = new_batch_id()
    row = pa.table(
        {
            "batch_id": [batch_id],
            "source": ["broken.xlsx"],
            "line": pa.array([None], pa.int64()),
            "column_name": pa.array([None], pa.string()),
            "reason": ["not a readable Excel file"],
            "raw": pa.array([None], pa.string()),
            "quarantined_at": pa.array([datetime.now(UTC)], pa.timestamp("us", tz="UTC")),
        }
    )
    with lake.write_lock():
        placed = write_table_file(lake, "quarantine", row, batch_id=batch_id)
        lake.commit(Commit("ingest", batch_id, [placed], [], {}))
    shown = runner.invoke(app, ["quarantine", "--lake", str(lake.root)])
    assert shown.exit_code == 0, shown.output
    assert "broken.xlsx" in shown.output and "not a readable Excel file" in shown.output


@pytest.mark.parametrize(
    "args",
    [
        ["backtest", "--metric", "speed"],  # an empty lake: nothing to backtest
        ["transit", "load", "no-such-feed.zip"],
        ["advise", "xizhimen", "guomao"],  # no network in the lake
        ["ingest", "no-such-file.csv", "-m", "no-such-mapping.toml"],
    ],
)
def test_a_product_error_is_one_line_and_exit_2(tmp_path, args: list[str]) -> None:
    """The one handler of the top group (ProductErrorGroup) holds whatever the command."""
    result = runner.invoke(app, [*args, "--lake", str(tmp_path / "lake")])
    assert result.exit_code == 2, (result.output, result.exception)
    assert "Traceback" not in result.output and "error" in result.output.lower()
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_the_readme_names_every_package() -> None:
    """Each subpackage of urbanpulse has a row in the README's "What is here"."""
    import pkgutil

    import urbanpulse

    readme = (REPO / "README.md").read_text()
    table = readme[readme.index("## What is here") : readme.index("## The web app")]
    packages = {m.name for m in pkgutil.iter_modules(urbanpulse.__path__) if m.ispkg}
    assert {p for p in packages if f"`urbanpulse.{p}`" not in table} == set()


def test_the_server_believes_no_proxy_unless_told() -> None:
    """uvicorn would believe X-Forwarded-For from localhost; the product believes none
    until URBANPULSE_TRUSTED_PROXIES names the reverse proxy."""
    import uvicorn

    from urbanpulse.cli.main import get_server_options
    from urbanpulse.settings import Settings

    plain = get_server_options(Settings())
    assert plain["proxy_headers"] is False and plain["limit_concurrency"] == 1000
    config = uvicorn.Config("urbanpulse.cli:app", **plain)
    assert config.proxy_headers is False
    behind = get_server_options(Settings(trusted_proxies=["10.0.0.5"]))
    assert behind["proxy_headers"] is True and behind["forwarded_allow_ips"] == "10.0.0.5"


def test_a_busy_port_says_how_to_choose_another(tmp_path):
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = runner.invoke(
            app, ["serve", "--lake", str(tmp_path / "lake"), "--port", str(port)]
        )
    assert result.exit_code == 2
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr and "--port" in result.stderr
    assert "Traceback" not in result.output


def test_the_tables_speak_the_shells_language(tmp_path):
    """Titles, headers and summaries follow LANG (or --lang), and names come in that
    language first."""
    chinese = {"LANG": "zh_CN.UTF-8"}
    cities = runner.invoke(app, ["cities"], env=chinese)
    assert cities.exit_code == 0 and "京津冀城市群" in cities.output
    assert re.search(r"│ 110000 │ 北京 +│ Beijing", cities.output)
    english = runner.invoke(app, ["--lang", "en", "cities"], env=chinese)
    assert "Beijing-Tianjin-Hebei city cluster" in english.output
    assert re.search(r"│ 110000 │ Beijing +│ 北京", english.output)
    lake = str(tmp_path / "lake")
    args = INGEST_STATION_COUNTS
    ingested = runner.invoke(app, [*args, "--lake", lake], env=chinese)
    assert (
        ingested.exit_code == 0
        and "导入汇总" in ingested.output
        and "存入观测值" in ingested.output
    )
    shown = runner.invoke(app, ["quarantine", "--lake", lake], env=chinese)
    assert "隔离的数据行" in shown.output and "原因" in shown.output
    history = runner.invoke(app, ["lake", "history", "--lake", lake], env=chinese)
    assert history.exit_code == 0 and "提交记录" in history.output


def test_quarantine_reasons_read_in_the_commands_language_and_filter_as_stored(tmp_path):
    """Reasons are stored in one vocabulary (English) and shown in the reader's: the
    ingest summary's groups and each row's reason, figures kept."""
    lake = str(tmp_path / "lake")
    chinese = {"LANG": "zh_CN.UTF-8", "COLUMNS": "200"}
    ingested = runner.invoke(app, [*INGEST_STATION_COUNTS, "--lake", lake], env=chinese)
    assert ingested.exit_code == 0, ingested.output
    assert "低于下限" in ingested.output and "时间无法解析" in ingested.output
    assert "unparseable time" not in ingested.output
    # the filter reads the stored words, whatever language the table shows
    shown = runner.invoke(app, ["quarantine", "--lake", lake, "--reason", "minimum"], env=chinese)
    assert shown.exit_code == 0 and "低于下限" in shown.output
    assert "below minimum" not in shown.output
    english = runner.invoke(app, ["--lang", "en", "quarantine", "--lake", lake], env=chinese)
    # (a narrow terminal folds a reason over two lines of its cell)
    assert "below" in english.output and "minimum" in english.output
    assert "低于下限" not in english.output and "同一文件内键重复" not in english.output


def test_every_reason_the_product_writes_has_its_words() -> None:
    from urbanpulse.i18n import use_locale
    from urbanpulse.ingest.quarantine import CORRECTION_REASON, translate_reason

    with use_locale("zh_CN"):
        assert translate_reason("wrong number of fields: expected 4, found 6") == (
            "字段数不符：应为 4，实为 6"
        )
        assert translate_reason(f"{CORRECTION_REASON} (3 stored, 4 sent)").endswith(
            "（已存 3，收到 4）"
        )
        assert translate_reason("unreadable CSV record: EOF") == "unreadable CSV record: EOF"


def test_the_readme_names_every_page_and_every_path_it_names_exists(tmp_path: Path) -> None:
    """As datasette checks its docs: each page the app serves has a row in the README,
    and each page or API path the README gives (in backticks) is served."""
    from urbanpulse.api import create_app
    from urbanpulse.settings import Settings
    from urbanpulse.web.pages import PAGE_ROUTERS

    readme = (REPO / "README.md").read_text()
    pages = {
        r.path.replace("{site_id}", "{id}")
        for router in PAGE_ROUTERS
        for r in router.routes
        if "GET" in getattr(r, "methods", set())
    }
    assert {p for p in pages if f"`{p}`" not in readme} == set()
    api = {
        re.sub(r"\{[^}]+\}", "{id}", path)
        for path in create_app(Settings(lake_path=tmp_path / "lake")).openapi()["paths"]
    }
    served = pages | api | {"/docs"}
    named = {p for p in re.findall(r"`(/[a-z][a-zA-Z0-9_{}/.-]*)`", readme) if "..." not in p}
    assert {p for p in named if re.sub(r"\{[^}]+\}", "{id}", p) not in served} == set()
