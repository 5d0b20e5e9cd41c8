from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.privacy.conftest import build_tap_line
from typer.testing import CliRunner

from urbanpulse.cli import app


@pytest.fixture(params=["noised"])
def run(tmp_path: Path, request: pytest.FixtureRequest) -> Callable[..., object]:
    env = {
        "URBANPULSE_PRIVACY_KEY_DIR": str(tmp_path / "keys"),
        "URBANPULSE_PRIVACY_K": "2",
        "URBANPULSE_PRIVACY_STATION_COUNTS": request.param,
    }

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(
            app, ["privacy", *args, "--lake", str(tmp_path / "lake")], env=env
        )

    invoke.audit = lambda: CliRunner().invoke(  # type: ignore[attr-defined]
        app, ["audit", "list", "--json", "--lake", str(tmp_path / "lake")], env=env
    )
    return invoke


def _audit(run: Callable) -> list[dict]:
    listed = run.audit()  # type: ignore[attr-defined]
    assert listed.exit_code == 0, listed.output
    return json.loads(listed.stdout)


def _one_line_error(result) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "Traceback" not in result.output and result.output.startswith("error:")


def test_ingest_release_budget_report(run: Callable, tap_file: Callable) -> None:
    rows = [build_tap_line(f"CARD{i}", "2018-09-01 08:01:00", "地铁入站", "罗湖") for i in range(5)]
    result = run("ingest-taps", str(tap_file(rows)), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["taps_stored"] == 5
    # Counts are published noised only: no exact cell, no entries observation.
    assert summary["count_cells_suppressed"] == summary["count_cells"]
    assert summary["observations_stored"] == 0
    assert run("release", "--epsilon", "0.7").exit_code == 0
    _one_line_error(refused := run("release", "--epsilon", "0.7"))
    assert "budget exceeded" in refused.output
    spent = json.loads(run("budget", "--json").stdout)
    assert spent == [
        {
            "dataset": "tap_counts",
            "period": "2018-09",
            "releases": 1,
            "spent": 0.7,
            "budget": 1.0,
            "remaining": pytest.approx(0.3),
        }
    ]
    # The spend is in the sealed audit chain as well as the lake's history.
    (entry,) = [e for e in _audit(run) if e["path"].startswith("privacy release")]
    assert entry["path"] == "privacy release 2018-09" and entry["detail"].startswith("epsilon=0.7")
    report = json.loads(run("report", "--json", "--repeats", "1", "--epsilons", "1,2").stdout)
    assert [r["epsilon"] for r in report["rows"]] == [1.0, 2.0]
    assert "CARD" not in str(report)


@pytest.mark.parametrize(
    "args",
    [
        ("report",),
        ("release", "--epsilon", "1"),
        ("report", "--epsilons", "x"),
        ("ingest-taps", "/no/such/file.csv"),
    ],
)
def test_product_errors_are_one_line(run: Callable, args: tuple[str, ...]) -> None:
    _one_line_error(run(*args))


def test_a_file_of_another_layout_is_one_line(run: Callable, tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("card,time\nSECRET1,2018-09-01 08:00:00\n")
    result = run("ingest-taps", str(path))
    _one_line_error(result)
    assert "SECRET1" not in result.output


@pytest.mark.parametrize("run", ["exact"], indirect=True)
def test_a_lake_publishing_exact_counts_refuses_a_noised_release(
    run: Callable, tap_file: Callable
) -> None:
    # Exact figures of the same cells beside a noised release would undo the noise.
    rows = [build_tap_line(f"CARD{i}", "2018-09-01 08:01:00", "地铁入站", "罗湖") for i in range(5)]
    assert run("ingest-taps", str(tap_file(rows))).exit_code == 0
    _one_line_error(refused := run("release", "--epsilon", "0.5"))
    assert "exact station counts" in refused.output
    assert json.loads(run("budget", "--json").stdout) == []  # nothing charged
