"""Linkage benchmark, run by hand: ``.venv/bin/python bench/linkage.py --help``.

How many cards do one or two known taps single out in the pseudonymised trip-level taps?
An analyst who knows that a person tapped in at a station around a time (a colleague,
a photo, a receipt) looks for the pseudonyms with a tap there and then; if only one
pseudonym matches, every other trip that pseudonym made that month is that person's.

Reads the real Shenzhen Tong taps of 2018-09-01 (``../shared/data/shenzhen-smartcard``)
through the product's own reader (pseudonyms as stored), then, for every card with
enough taps, picks known taps at random (seeded) and counts the cards that share them,
with times as stored (to the second, the baseline) and in coarser buckets. Prints a
table, then one line of JSON: the share of cards singled out by one and by two known
taps at each granularity.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from urbanpulse.privacy import SHENZHEN_TAPS, KeyRing, read_tap_file

FILES = ("szt_records_14_14.csv", "szt_card_data_2920000403601.csv")
# Bucket sizes in minutes; 0 is the time as stored (to the second).
GRANULARITIES = (0, 1, 5, 15, 60)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--shared-data", type=Path,
        default=Path(__file__).resolve().parents[2] / "shared" / "data",
        help="Folder of the shared real data.",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=7, help="Seed of the known taps drawn.")
    return parser.parse_args()


def read_taps(folder: Path) -> pd.DataFrame:
    """The metro and bus taps of both files, pseudonymised as the product stores them."""
    with tempfile.TemporaryDirectory() as keys:
        ring = KeyRing(Path(keys))
        frames = [read_tap_file(folder / name, SHENZHEN_TAPS, ring).taps for name in FILES]
    taps = pd.concat(frames, ignore_index=True).drop_duplicates(
        ["pseudonym", "ts", "direction", "station"]
    )
    return taps[["pseudonym", "ts", "station", "direction"]].reset_index(drop=True)


def single_out(taps: pd.DataFrame, minutes: int, known: int, rng: np.random.Generator) -> dict:
    """Share of cards (with at least ``known`` taps) whose ``known`` random taps, at
    this granularity, no other card shares."""
    bucket = taps["ts"].dt.floor(f"{minutes}min") if minutes else taps["ts"]
    places = taps["station"].astype(str) + "|" + taps["direction"] + "|" + bucket.astype(str)
    holders: dict[str, set[str]] = {}
    for place, card in zip(places, taps["pseudonym"], strict=True):
        holders.setdefault(place, set()).add(card)
    per_card = places.groupby(taps["pseudonym"]).apply(lambda s: sorted(set(s)))
    eligible = per_card[per_card.map(len) >= known]
    unique = 0
    for card, card_places in eligible.items():
        chosen = rng.choice(len(card_places), size=known, replace=False)
        sharing = set.intersection(*(holders[card_places[i]] for i in chosen))
        unique += sharing == {card}
    return {"cards": len(eligible), "singled_out": unique,
            "share": round(unique / max(len(eligible), 1), 4)}  # fmt: skip


def main() -> None:
    args = parse_args()
    folder = args.shared_data / "shenzhen-smartcard"
    if not all((folder / name).is_file() for name in FILES):
        raise SystemExit(f"the Shenzhen taps are not in {folder}")
    taps = read_taps(folder)
    rows = {}
    for minutes in GRANULARITIES:
        rng = np.random.default_rng(args.seed)
        rows[minutes] = {known: single_out(taps, minutes, known, rng) for known in (1, 2)}
    print(f"{len(taps):,} taps of {taps['pseudonym'].nunique():,} cards")
    print(f"{'times':<16}{'one known tap':>22}{'two known taps':>22}")
    for minutes, row in rows.items():
        name = "as stored (1 s)" if minutes == 0 else f"{minutes}-min buckets"
        one, two = row[1], row[2]
        print(
            f"{name:<16}{one['share']:>14.1%} of {one['cards']:>5}{two['share']:>14.1%} of {two['cards']:>5}"
        )
    baseline = rows[0]
    print(json.dumps({
        "bench": "linkage",
        "figures": {f"{m}min" if m else "stored": {"one_tap": r[1]["share"], "two_taps": r[2]["share"]}
                    for m, r in rows.items()},
        "baseline": {"one_tap": baseline[1]["share"], "two_taps": baseline[2]["share"]},
        "target": "reported, not met or missed: the share singled out at the stored granularity",
        "taps": len(taps), "cards": int(taps["pseudonym"].nunique()),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
