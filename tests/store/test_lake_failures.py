"""The lake's stable id, vacuum's grace period, and one-line errors when the disk or
the folder refuses a write (full, read-only)."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from urbanpulse.catalog import build_sites_table
from urbanpulse.cli import app
from urbanpulse.errors import LakeError
from urbanpulse.store import Lake, upsert_sites
from urbanpulse.store.lake import get_write_failure

FIXTURES = Path(__file__).parents[1] / "fixtures"
runner = CliRunner()


def sites_table(lake: Lake) -> pa.Table:
    from tests.conftest import TEST_SITES

    return build_sites_table(list(TEST_SITES))


def test_two_lakes_with_the_same_folder_name_have_different_ids(tmp_path: Path) -> None:
    one, two = Lake(tmp_path / "a" / "lake"), Lake(tmp_path / "b" / "lake")
    for lake in (one, two):
        upsert_sites(lake, sites_table(lake))
    assert one.get_id() != two.get_id()
    assert Lake(one.root).get_id() == one.get_id()  # stable across objects
    before = one.get_id()
    moved = shutil.move(one.root, tmp_path / "moved")
    assert Lake(moved).get_id() == before  # and across moves


def test_a_lake_not_created_yet_is_named_without_writing(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "nothing")
    assert lake.get_id() == Lake(tmp_path / "nothing").get_id()
    assert not lake.root.exists()


def test_vacuum_keeps_files_replaced_within_the_grace_period(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    upsert_sites(lake, sites_table(lake))
    first = lake.get_paths_relative("sites")
    upsert_sites(lake, sites_table(lake))  # replaces the sites snapshot
    orphan = lake.root / "sites" / "killed-writer.parquet"
    shutil.copy(lake.root / first[0], orphan)
    assert lake.vacuum(grace=timedelta(minutes=60)) == ["sites/killed-writer.parquet"]
    assert (lake.root / first[0]).is_file()  # a reader may still hold it
    assert lake.vacuum(grace=timedelta(0)) == first
    assert len(lake.get_paths("sites")) == 1


def test_lake_vacuum_command_reads_the_grace_from_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = Lake(tmp_path / "lake")
    upsert_sites(lake, sites_table(lake))
    upsert_sites(lake, sites_table(lake))
    monkeypatch.setenv("URBANPULSE_VACUUM_GRACE_MINUTES", "5")
    kept = runner.invoke(app, ["lake", "vacuum", "--lake", str(lake.root)])
    assert kept.exit_code == 0 and "removed 0 " in kept.output
    monkeypatch.setenv("URBANPULSE_VACUUM_GRACE_MINUTES", "0")
    gone = runner.invoke(app, ["lake", "vacuum", "--lake", str(lake.root)])
    assert gone.exit_code == 0 and "removed 1 " in gone.output


@pytest.mark.parametrize(
    ("code", "words"),
    [(errno.ENOSPC, "the disk is full"), (errno.EROFS, "read-only"), (errno.EACCES, "permission")],
)
def test_a_refused_write_is_one_lake_error_naming_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, words: str
) -> None:
    lake = Lake(tmp_path / "lake")

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr("urbanpulse.store.tables.pq.write_table", refuse)
    with pytest.raises(LakeError, match=words) as caught:
        upsert_sites(lake, sites_table(lake))
    assert str(lake.root) in str(caught.value) and "\n" not in str(caught.value)


def test_other_errors_inside_a_write_pass_unchanged(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    with pytest.raises(OSError, match="EIO"), lake.write_lock():
        raise OSError(errno.EIO, "EIO")


def test_duckdb_write_failures_are_recognised() -> None:
    full = duckdb.IOException(f"Could not write file: {os.strerror(errno.ENOSPC)}")
    assert get_write_failure(full) == "the disk is full"
    assert get_write_failure(duckdb.IOException("something else")) is None


def ingest_args(lake: Path) -> list[str]:
    csv, mapping = FIXTURES / "station_counts.csv", FIXTURES / "station_counts.toml"
    return ["ingest", str(csv), "-m", str(mapping), "--lake", str(lake)]


def test_cli_says_one_line_and_exits_2_on_a_full_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(self: Lake, commit: object) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Lake, "commit", full)
    result = runner.invoke(app, ingest_args(tmp_path / "lake"))
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "the disk is full" in lines[0]
    assert str(tmp_path / "lake") in lines[0]
    assert "Traceback" not in result.output + result.stderr


@pytest.fixture
def read_only_lake(tmp_path: Path) -> Iterator[Path]:
    """A real read-only lake folder: a read-only bind mount as root (root ignores
    permissions), else a folder without write permission."""
    source = tmp_path / "lake"
    Lake(source)  # nothing yet: the first write must create files in it
    source.mkdir()
    if os.geteuid() != 0:
        source.chmod(0o555)
        yield source
        source.chmod(0o755)
        return
    target = tmp_path / "ro"
    target.mkdir()
    bind = subprocess.run(["mount", "--bind", str(source), str(target)], capture_output=True)
    if bind.returncode != 0:
        pytest.skip(f"cannot make a read-only folder as root: {bind.stderr.decode().strip()}")
    try:
        remount = ["mount", "-o", "remount,bind,ro", str(target)]
        if subprocess.run(remount, capture_output=True).returncode != 0:
            pytest.skip("cannot remount the bind read-only")
        yield target
    finally:
        subprocess.run(["umount", str(target)], capture_output=True)


def test_cli_says_one_line_and_exits_2_on_a_read_only_lake(read_only_lake: Path) -> None:
    result = runner.invoke(app, ingest_args(read_only_lake))
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and str(read_only_lake) in lines[0] and "read-only" in lines[0]
    assert "Traceback" not in result.output + result.stderr


def test_api_maps_a_refused_write_to_the_lake_error(tmp_path: Path) -> None:
    from urbanpulse.api.errors import get_error_status

    lake = Lake(tmp_path / "lake")
    with pytest.raises(LakeError) as caught, lake.write_lock():
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))
    assert get_error_status(caught.value) == (500, "lake_error")
    assert "read-only" in str(caught.value) and "\n" not in str(caught.value)
