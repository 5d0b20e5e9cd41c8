"""Transfer walks between the stations of one network.

Four kinds, in order of precedence when the same pair is found twice:

gtfs
    Stated by the feed's transfers.txt (its min_transfer_time, else the walk below).
same_station
    Stops that share a parent_station (platforms of one station).
same_name
    Stops of the same name: within :data:`SAME_NAME_METRES` when both have coordinates,
    else a fixed :data:`SAME_NAME_WALK_MINUTES` (the Beijing file has no coordinates;
    four minutes is a typical change between lines at a Beijing interchange).
nearby
    Any two stops within :data:`NEARBY_METRES` in a straight line.

A walk takes distance / :data:`WALK_SPEED` (1.2 m/s, a usual planning pace), and never
less than :data:`MIN_WALK_MINUTES`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "MIN_WALK_MINUTES",
    "NEARBY_METRES",
    "SAME_NAME_METRES",
    "SAME_NAME_WALK_MINUTES",
    "WALK_SPEED",
    "build_transfers",
    "find_nearby_walks",
    "get_metres",
    "get_walk_minutes",
]

WALK_SPEED = 1.2  # metres per second
MIN_WALK_MINUTES = 2.0
NEARBY_METRES = 250.0
SAME_NAME_METRES = 500.0
SAME_NAME_WALK_MINUTES = 4.0
EARTH_RADIUS = 6_371_000.0
KINDS = ("gtfs", "same_station", "same_name", "nearby")
COLUMNS = ["from_site_id", "to_site_id", "walk_minutes", "kind"]


def get_metres(lat1: object, lon1: object, lat2: object, lon2: object) -> np.ndarray:
    """Great-circle distance in metres (haversine), element-wise."""
    p1, p2 = np.radians(np.asarray(lat1, float)), np.radians(np.asarray(lat2, float))
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2, float) - np.asarray(lon1, float))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS * np.arcsin(np.sqrt(a)))


def get_walk_minutes(metres: object) -> np.ndarray:
    """Walking minutes for straight-line metres, at least :data:`MIN_WALK_MINUTES`."""
    return np.round(np.maximum(MIN_WALK_MINUTES, np.asarray(metres, float) / WALK_SPEED / 60), 2)


def build_transfers(
    stops: pd.DataFrame,
    *,
    stated: pd.DataFrame | None = None,
    forbidden: set[tuple[str, str]] | None = None,
    walk_metres: float = NEARBY_METRES,
) -> pd.DataFrame:
    """All transfer walks of a network, one row per ordered pair of sites.

    ``stops`` has site_id, name, lat, lon (may be NaN) and parent (site id or None);
    ``stated`` has from_site_id, to_site_id and walk_minutes (NaN: estimate it);
    pairs in ``forbidden`` (GTFS transfer_type 3) are never generated. Stops of other
    names are joined within ``walk_metres`` (the network's own setting: a city whose
    interchanges are long corridors needs more than the default 250 m), stops of one
    name within twice that.

    Returns
    -------
    pandas.DataFrame
        Columns from_site_id, to_site_id, walk_minutes, kind (see the module docstring).
    """
    found = [_with_walks(stated, stops, "gtfs")] if stated is not None else []
    found += [
        _same_station(stops),
        _same_name(stops, max(SAME_NAME_METRES, 2 * walk_metres)),
        find_nearby_walks(stops, walk_metres),
    ]
    rows = pd.concat([f for f in found if not f.empty] or [pd.DataFrame(columns=COLUMNS)])
    rows["rank"] = rows["kind"].map(KINDS.index)
    rows = rows.sort_values(["rank", "from_site_id", "to_site_id"], kind="stable")
    rows = rows.drop_duplicates(["from_site_id", "to_site_id"])
    if forbidden:
        pairs = list(zip(rows["from_site_id"], rows["to_site_id"], strict=True))
        rows = rows[[p not in forbidden for p in pairs]]
    return rows[COLUMNS].reset_index(drop=True)


def _both_ways(pairs: pd.DataFrame) -> pd.DataFrame:
    flipped = pairs.rename(columns={"from_site_id": "to_site_id", "to_site_id": "from_site_id"})
    both = pd.concat([pairs, flipped[pairs.columns]], ignore_index=True)
    return both[both["from_site_id"] != both["to_site_id"]]


def _with_walks(pairs: pd.DataFrame, stops: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Fill missing walk_minutes from the distance between the two stops."""
    where = stops.set_index("site_id")[["lat", "lon"]]
    a = where.reindex(pairs["from_site_id"]).to_numpy()
    b = where.reindex(pairs["to_site_id"]).to_numpy()
    estimate = get_walk_minutes(get_metres(a[:, 0], a[:, 1], b[:, 0], b[:, 1]))
    # No coordinates: a change within a station, the usual interchange time.
    estimate = np.where(np.isnan(estimate), SAME_NAME_WALK_MINUTES, estimate)
    given = pairs["walk_minutes"].to_numpy(dtype=float) if "walk_minutes" in pairs else estimate
    walk = np.where(np.isnan(given), estimate, given)
    return pairs.assign(walk_minutes=walk, kind=kind)[COLUMNS]


def _pairs_within(stops: pd.DataFrame, key: str) -> pd.DataFrame:
    grouped = stops.dropna(subset=[key]).groupby(key)["site_id"].agg(list)
    grouped = grouped[grouped.map(len) > 1]
    pairs = [(a, b) for members in grouped for a in members for b in members if a < b]
    return pd.DataFrame(pairs, columns=["from_site_id", "to_site_id"])


def _same_station(stops: pd.DataFrame) -> pd.DataFrame:
    pairs = _pairs_within(stops, "parent")
    return _with_walks(_both_ways(pairs), stops, "same_station") if len(pairs) else pairs


def _same_name(stops: pd.DataFrame, metres: float) -> pd.DataFrame:
    pairs = _pairs_within(stops.assign(name=stops["name"].replace("", None)), "name")
    if pairs.empty:
        return pairs
    walks = _with_walks(_both_ways(pairs), stops, "same_name")
    # Two stops of one name far apart are different places (two "Main St" in two towns).
    limit = metres / WALK_SPEED / 60
    return walks[walks["walk_minutes"] <= max(limit, SAME_NAME_WALK_MINUTES)]


def find_nearby_walks(stops: pd.DataFrame, metres: float) -> pd.DataFrame:
    """Walks both ways between stops (site_id, lat, lon) within ``metres`` of each other
    in a straight line (kind 'nearby'); stops without coordinates are left out."""
    from scipy.spatial import cKDTree

    placed = stops.dropna(subset=["lat", "lon"]).reset_index(drop=True)
    if len(placed) < 2:
        return pd.DataFrame(columns=COLUMNS)
    lat0 = np.radians(placed["lat"].mean())
    xy = np.column_stack(
        [
            np.radians(placed["lon"].to_numpy(float)) * EARTH_RADIUS * np.cos(lat0),
            np.radians(placed["lat"].to_numpy(float)) * EARTH_RADIUS,
        ]
    )
    # A little slack on the projection; the haversine check below is the rule.
    index = cKDTree(xy).query_pairs(metres * 1.01, output_type="ndarray")
    ids = placed["site_id"].to_numpy()
    pairs = pd.DataFrame({"from_site_id": ids[index[:, 0]], "to_site_id": ids[index[:, 1]]})
    lat, lon = placed["lat"].to_numpy(float), placed["lon"].to_numpy(float)
    distance = get_metres(lat[index[:, 0]], lon[index[:, 0]], lat[index[:, 1]], lon[index[:, 1]])
    pairs = pairs[distance <= metres]
    return _with_walks(_both_ways(pairs), stops, "nearby")
