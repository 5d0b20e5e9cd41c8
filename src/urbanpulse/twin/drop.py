"""A late, messy file from a bus operator, so the demo shows what quarantine is for.

Two days of one city's bus boardings are held back from the direct write and handed
over as a CSV "drop file" instead, as a real operator would send them: with negative
counts, dashes and spreadsheet errors for numbers, impossible dates, readings far out
of range, mistyped stop codes and repeated lines. Ingest stores the good rows and
quarantines the rest, each with its reason.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from urbanpulse.ingest.mapping import Mapping, build_mapping

DROP_FILE_NAME = "synthetic-demo-baoding-bus-boardings.csv"
DROP_LINES = ("bd-b1", "bd-b6")
DROP_DAYS = 2
# The same mapping ships as mappings/demo-counts.toml for people to read and reuse.
DROP_MAPPING: dict[str, object] = {
    "layout": "long",
    "source": {
        "format": "csv",
        "name": "UrbanPulse synthetic demo: Baoding bus operator drop file",
    },
    "time": {"column": "time", "format": "%Y-%m-%d %H:%M", "timezone": "Asia/Shanghai"},
    "site": {"column": "stop", "allow_new": False, "kind": "bus_stop", "city_code": "130600"},
    "value_column": "boardings",
    "metrics": {"boardings": {"unit": "passengers", "min": 0, "max": 2000}},
}
# How many rows of each kind of damage the file carries.
_DAMAGE = {
    "negative": 70,
    "text": 70,
    "bad_date": 40,
    "too_large": 30,
    "bad_stop": 30,
    "repeat": 60,
}
_TEXTS = ("--", "#VALUE!", "err", "1,2", "n.a.")


def build_drop_mapping() -> Mapping:
    """The ingest mapping of the drop file (long layout: stop, time, boardings)."""
    return build_mapping(DROP_MAPPING, origin="urbanpulse.twin.drop")


def get_drop_mask(observations: pa.Table) -> np.ndarray:
    """Rows of ``observations`` that travel in the drop file instead of the direct write.

    Returns
    -------
    numpy.ndarray
        Boolean mask over the rows: boardings at the drop lines' stops in the last days.
    """
    is_line = pc.starts_with(observations["site_id"], DROP_LINES[0])
    for line in DROP_LINES[1:]:
        is_line = pc.or_(is_line, pc.starts_with(observations["site_id"], line))
    last = pc.max(observations["ts"]).as_py()
    cutoff = pd.Timestamp(last).floor("D") - pd.Timedelta(days=DROP_DAYS - 1)
    recent = pc.greater_equal(
        observations["ts"], pa.scalar(cutoff.to_pydatetime(), observations["ts"].type)
    )
    mask = pc.and_(pc.and_(is_line, pc.equal(observations["metric"], "boardings")), recent)
    return mask.to_numpy(zero_copy_only=False)


def build_drop_frame(rows: pa.Table, *, seed: int) -> pd.DataFrame:
    """The drop file's content: good rows with a sprinkle of damage, in file order.

    Returns
    -------
    pandas.DataFrame
        Columns: stop, time (local, 'YYYY-MM-DD HH:MM'), boardings (text).
    """
    rng = np.random.default_rng([seed, 7])
    local = rows["ts"].to_pandas().dt.tz_convert("Asia/Shanghai")
    frame = pd.DataFrame(
        {
            "stop": rows["site_id"].to_pylist(),
            "time": local.dt.strftime("%Y-%m-%d %H:%M").to_numpy(),
            "boardings": [str(int(v)) for v in rows["value"].to_numpy()],
        }
    )
    picks = rng.permutation(len(frame))
    start = 0
    repeats = np.array([], dtype=int)
    for kind, count in _DAMAGE.items():
        chosen = picks[start : start + count]
        start += count
        if kind == "repeat":
            repeats = chosen
        else:
            _damage(frame, chosen, kind, rng)
    copies = frame.iloc[np.sort(repeats)].copy()
    copies["boardings"] = [str(int(v) + int(rng.integers(1, 5))) for v in copies["boardings"]]
    # A repeated line follows its original closely, as when an export is re-run.
    copies.index = copies.index + 0.5
    return pd.concat([frame, copies]).sort_index().reset_index(drop=True)


def _damage(frame: pd.DataFrame, rows: np.ndarray, kind: str, rng: np.random.Generator) -> None:
    col = {"negative": "boardings", "text": "boardings", "too_large": "boardings"}.get(kind)
    if kind == "negative":
        frame.loc[rows, col] = [f"-{int(v) + 1}" for v in frame.loc[rows, col]]
    elif kind == "text":
        frame.loc[rows, col] = rng.choice(_TEXTS, size=len(rows))
    elif kind == "too_large":
        frame.loc[rows, col] = "99999"
    elif kind == "bad_date":
        frame.loc[rows, "time"] = [f"2026-02-30 {t[-5:]}" for t in frame.loc[rows, "time"]]
    elif kind == "bad_stop":
        frame.loc[rows, "stop"] = [s.replace("-s", "-s9") for s in frame.loc[rows, "stop"]]


def write_drop_file(frame: pd.DataFrame, folder: Path) -> Path:
    """Write the drop file (byte for byte the same for the same content) and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / DROP_FILE_NAME
    frame.to_csv(path, index=False, lineterminator="\n")
    return path
