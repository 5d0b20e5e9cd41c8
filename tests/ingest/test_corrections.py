"""A file sent again with a value changed: the stored value stays, the correction is
kept in quarantine with both values and its file and line, never dropped unseen."""

from __future__ import annotations

from pathlib import Path

from urbanpulse.ingest import ingest_files, read_mapping
from urbanpulse.store import Lake, get_metrics, read_observations, read_quarantine

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REASON = "a different value for an observation already stored: not applied"


def test_a_corrected_file_keeps_the_first_value_and_the_correction_aside(
    tmp_path: Path,
) -> None:
    lake = Lake(tmp_path / "lake")
    mapping = read_mapping(FIXTURES / "station_counts.toml")
    original = (FIXTURES / "station_counts.csv").read_text("utf-8")
    first = tmp_path / "counts.csv"
    first.write_text(original, "utf-8")
    before = ingest_files(lake, [first], mapping)
    (metric,) = get_metrics(lake)
    stored = read_observations(lake, metric)
    corrected = tmp_path / "counts-corrected.csv"
    corrected.write_text(original.replace("2026-03-02,8,XZM,2210", "2026-03-02,8,XZM,2250"))
    again = ingest_files(lake, [corrected], mapping)
    assert again.observations_stored == 0
    assert again.duplicates_skipped == before.observations_stored - 1
    assert again.quarantined[REASON] == 1
    kept = read_quarantine(lake)
    row = kept[kept["reason"].str.startswith(REASON)].iloc[0]
    assert row["reason"].endswith("(2210 stored, 2250 sent)")
    assert row["source"].endswith("counts-corrected.csv") and row["line"] == 3
    after = read_observations(lake, metric)
    assert sorted(after["value"]) == sorted(stored["value"])  # nothing changed
