"""What-if weights, traces, the per-version cache and loading a statistics table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from urbanpulse.cli.indices import indices_app
from urbanpulse.errors import InvalidQueryError, MappingError
from urbanpulse.indices import MonitorResult, compute_monitor
from urbanpulse.indices.lake import get_latest_vintage, read_monitor
from urbanpulse.indices.loading import ingest_indicator_table, read_indicator_mapping
from urbanpulse.indices.monitor import read_default_framework
from urbanpulse.indices.trace import compute_trace
from urbanpulse.indices.whatif import WHAT_IF_COLUMNS, compute_what_if
from urbanpulse.store import Lake, read_indicators, read_quarantine, upsert_indicators
from urbanpulse.twin.indicators import build_indicators

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "indicators_example.csv"
MAPPING = ROOT / "mappings" / "indicators-example.toml"
CONCEPTS = ["innovation", "coordination", "green", "openness", "sharing"]


@pytest.fixture(scope="module")
def monitor() -> MonitorResult:
    return compute_monitor(build_indicators(2026), n_draws=50)


def test_what_if_columns(monitor: MonitorResult) -> None:
    table = compute_what_if(monitor.pipeline, concept_weights={"green": 2})
    assert list(table.columns) == WHAT_IF_COLUMNS
    assert len(table) == 13 * 11


@settings(max_examples=20, deadline=None)
@given(scale=st.floats(min_value=0.1, max_value=10))
def test_what_if_with_equal_weights_equals_the_base_result(
    monitor: MonitorResult, scale: float
) -> None:
    # Weights are relative: five equal weights, whatever their size, are the default.
    table = compute_what_if(monitor.pipeline, concept_weights=dict.fromkeys(CONCEPTS, scale))
    assert (table["rank_shift"] == 0).all()
    assert table["score"].to_numpy() == pytest.approx(table["base_score"].to_numpy())


@settings(max_examples=20, deadline=None)
@given(weight=st.floats(min_value=1.0, max_value=20.0))
def test_more_weight_on_a_concept_never_hurts_its_best_city(
    monitor: MonitorResult, weight: float
) -> None:
    latest = monitor.scores[(monitor.scores["year"] == 2024) & (monitor.scores["code"] == "green")]
    best = latest.sort_values("value").iloc[-1]["region_code"]
    base = compute_what_if(monitor.pipeline)
    more = compute_what_if(monitor.pipeline, concept_weights={"green": weight})
    pick = (base["region_code"] == best) & (base["year"] == 2024)
    assert more.loc[pick, "rank"].iloc[0] <= base.loc[pick, "rank"].iloc[0]


def test_what_if_refuses_unknown_codes_and_negative_weights(monitor: MonitorResult) -> None:
    with pytest.raises(InvalidQueryError, match="unknown"):
        compute_what_if(monitor.pipeline, concept_weights={"happiness": 1})
    with pytest.raises(InvalidQueryError, match="zero or more"):
        compute_what_if(monitor.pipeline, indicator_weights={"gre_pm25": -1})


def test_every_total_is_reproduced_by_its_trace(monitor: MonitorResult) -> None:
    for region in ("110000", "130400", "131100"):
        trace = compute_trace(monitor.pipeline, region, 2020, "index")
        assert trace["reproduced"] == pytest.approx(trace["value"])


def test_latest_vintage_wins_and_measured_beats_synthetic() -> None:
    fw = read_default_framework()
    rows = pd.DataFrame(
        {
            "region_code": ["110000"] * 3,
            "year": [2020] * 3,
            "indicator": ["gdp"] * 3,
            "value": [1.0, 2.0, 3.0],
            "unit": [""] * 3,
            "source": ["a", "b", "demo"],
            "vintage": ["2021", "2022", "synthetic-demo"],
            "synthetic": [False, False, True],
        }
    )
    assert get_latest_vintage(rows, fw)["value"].tolist() == [2.0]


def test_loading_a_table_stores_good_cells_and_quarantines_bad(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    summary = ingest_indicator_table(lake, FIXTURE, MAPPING)
    assert summary.rows_read == 8 and summary.missing_cells == 1
    assert summary.values_stored == 21
    assert summary.quarantined == {
        "unknown region": 4,
        "not a year": 4,
        "below minimum": 1,
        "not a number": 1,
    }
    stored = read_indicators(lake)
    pop = stored[(stored["region_code"] == "130600") & (stored["indicator"] == "population")]
    assert pop["value"].tolist() == [11_541_000.0, 11_500_000.0]  # "1,154.1" 10k persons
    assert set(stored["region_code"]) == {"110000", "120000", "130600", "130200", "130400"}
    assert not stored["synthetic"].any() and set(stored["vintage"]) == {"2025 yearbook"}
    bad = read_quarantine(lake)
    assert len(bad) == 10 and set(bad["line"]) == {6, 7, 8, 9}
    # Loading the same table again stores nothing new and quarantines nothing twice.
    again = ingest_indicator_table(lake, FIXTURE, MAPPING)
    assert again.already_loaded and len(read_indicators(lake)) == 21
    assert len(read_quarantine(lake)) == 10


def test_loaded_values_override_the_demo_in_the_monitor(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    upsert_indicators(lake, pa.Table.from_pandas(build_indicators(2026), preserve_index=False))
    before = read_monitor(lake, n_draws=20)
    assert read_monitor(lake, n_draws=20) is before  # cached for this lake version
    ingest_indicator_table(lake, FIXTURE, MAPPING)
    after = read_monitor(lake, n_draws=20)
    assert after.version > before.version and after is not before
    pm25 = after.indicators[
        (after.indicators["region_code"] == "110000")
        & (after.indicators["year"] == 2023)
        & (after.indicators["indicator"] == "gre_pm25")
    ]
    assert pm25["value"].tolist() == [32.0] and pm25["source"].iloc[0].startswith("Example")
    assert "Example statistics yearbook extract" in after.sources


def test_a_bad_mapping_says_what_is_wrong(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text('layout = "long"\nregion_column = "c"\nyear_column = "y"\nvintage = "1"\n'
                    "[indicators.gdp]\n", "utf-8")  # fmt: skip
    with pytest.raises(MappingError, match="indicator_column"):
        read_indicator_mapping(path)


def test_load_command_prints_a_summary(tmp_path: Path) -> None:
    args = ["load", str(FIXTURE), "--mapping", str(MAPPING), "--lake", str(tmp_path / "lake")]
    result = CliRunner().invoke(indices_app, args)
    assert result.exit_code == 0, result.output
    assert "stored 21 values" in result.output and "10 quarantined" in result.output
