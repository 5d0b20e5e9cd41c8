"""The quarantine names each rejected row's source by file name, never by server path."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pyarrow as pa
from fastapi.testclient import TestClient

from urbanpulse.api import create_app
from urbanpulse.api.routers.quarantine import get_source_name
from urbanpulse.settings import Settings
from urbanpulse.store import SCHEMAS, Commit, Lake, new_batch_id, write_table_file

SOURCES = ("/srv/secret-team/drop/counts.csv", r"D:\feeds\private\air.csv", "plain.csv")


def write_quarantine(lake: Lake, sources: tuple[str, ...]) -> None:
    """One quarantined row per source, as ingest stores them (with the full path)."""
    batch_id = new_batch_id()
    table = pa.table(
        {
            "batch_id": [batch_id] * len(sources),
            "source": list(sources),
            "line": pa.array(range(2, 2 + len(sources)), pa.int64()),
            "column_name": ["value"] * len(sources),
            "reason": ["not a number"] * len(sources),
            "raw": ["x,abc"] * len(sources),
            "quarantined_at": pa.array(
                [pd.Timestamp.now(tz="UTC")] * len(sources), pa.timestamp("us", tz="UTC")
            ),
        }
    )
    assert list(table.column_names) == list(SCHEMAS["quarantine"])
    with lake.write_lock():
        placed = write_table_file(lake, "quarantine", table, batch_id=batch_id)
        lake.commit(Commit("test_quarantine", batch_id, [placed], [], {}))


def build_admin_client(lake: Lake, grant: Callable[..., dict[str, str]]) -> TestClient:
    """A client over ``lake`` sending an admin key: the quarantine is for admins only."""
    app = create_app(Settings(lake_path=lake.root))
    return TestClient(app, headers=grant(app, "admin"))


def test_sources_are_file_names_only(tmp_path, grant) -> None:
    lake = Lake(tmp_path / "lake")
    write_quarantine(lake, SOURCES)
    client = build_admin_client(lake, grant)
    response = client.get("/api/quarantine")
    assert response.status_code == 200
    names = sorted(item["source"] for item in response.json()["items"])
    assert names == ["air.csv", "counts.csv", "plain.csv"]
    assert "secret-team" not in response.text and "private" not in response.text


def test_source_filter_matches_names_not_folders(tmp_path, grant) -> None:
    lake = Lake(tmp_path / "lake")
    write_quarantine(lake, SOURCES)
    client = build_admin_client(lake, grant)

    def sources(**params: object) -> list[str]:
        return [i["source"] for i in client.get("/api/quarantine", params=params).json()["items"]]

    assert sources(source="COUNTS") == ["counts.csv"]
    assert sources(source="secret-team") == []  # folders cannot be probed
    assert len(sources(source=".csv", limit=2)) == 2


def test_source_name_of_paths_and_addresses() -> None:
    assert get_source_name("/a/b/c.csv") == "c.csv"
    assert get_source_name(r"C:\a\b.json") == "b.json"
    assert get_source_name("mqtt://broker/city/air/") == "air"
    assert get_source_name("c.csv") == "c.csv"


def test_quarantine_is_admin_only_and_masks_card_numbers(
    tmp_path, grant: Callable[..., dict[str, str]]
) -> None:
    from urbanpulse.privacy.ingest import ingest_taps
    from urbanpulse.privacy.keys import KeyRing
    from urbanpulse.privacy.taps import SHENZHEN_TAPS

    header = "card_no,deal_date,deal_type,deal_money,deal_value,equ_no,company_name,station,car_no,conn_mark,close_date"
    rows = [
        f"{card},{when},地铁入站,0,0,260000000,地铁一号线,{station},IGT-1,0,2018-09-01 00:00:00"
        for card, when, station in [
            ("CARD11111", "2018-09-01 08:01:00", "罗湖"),
            ("CARD22222", "not a time", "罗湖"),
            ("CARD33333", "2018-09-01 08:02:00", ""),
        ]
    ]
    taps = tmp_path / "taps.csv"
    taps.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    lake = Lake(tmp_path / "lake")
    ingest_taps(lake, [taps], SHENZHEN_TAPS, KeyRing(tmp_path / "keys"), k=2,
                period_minutes=15, timezone="Asia/Shanghai")  # fmt: skip
    app = create_app(Settings(lake_path=lake.root))
    client = TestClient(app)
    assert client.get("/api/quarantine").status_code == 401
    for scope in ("business", "government"):
        assert client.get("/api/quarantine", headers=grant(app, scope)).status_code == 403
    response = client.get("/api/quarantine", headers=grant(app, "admin"))
    assert response.status_code == 200 and response.json()["count"] == 2
    assert "CARD" not in response.text
    assert all("<masked>" in item["raw"] for item in response.json()["items"])
