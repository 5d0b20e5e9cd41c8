from __future__ import annotations

import stat
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from urbanpulse.errors import ConfigurationError
from urbanpulse.privacy import KeyRing, check_key_dir

cards = st.text(alphabet="ABCDEFGHIJ", min_size=1, max_size=12)  # as Shenzhen card numbers
months = st.sampled_from(["2018-08", "2018-09", "2019-01", "2024-12"])


@settings(max_examples=60, deadline=None)
@given(card=cards, period=months, other=months)
def test_pseudonyms_link_within_a_period_and_not_across(card: str, period: str, other: str) -> None:
    folder = Path(tempfile.mkdtemp()) / "keys"
    ring, again = KeyRing(folder), KeyRing(folder)  # a second process reads the same key
    assert ring.pseudonymise(card, period) == again.pseudonymise(card, period)
    if other != period:
        assert ring.pseudonymise(card, period) != ring.pseudonymise(card, other)
    assert card not in ring.pseudonymise(card, period)  # upper case never appears in hex


def test_distinct_cards_get_distinct_lowercase_hex_pseudonyms(keys: KeyRing) -> None:
    found = {keys.pseudonymise(f"CARD{i}", "2018-09") for i in range(2000)}
    assert len(found) == 2000
    assert all(len(p) == 32 and p == p.lower() and int(p, 16) >= 0 for p in found)


def test_key_files_are_private_and_one_per_month(keys: KeyRing) -> None:
    keys.pseudonymise("X", "2018-09")
    keys.pseudonymise("X", "2018-10")
    files = sorted(p.name for p in keys.folder.iterdir())
    assert files == ["2018-09.key", "2018-10.key"]
    for name in files:
        assert stat.S_IMODE((keys.folder / name).stat().st_mode) == 0o600
    assert stat.S_IMODE(keys.folder.stat().st_mode) == 0o700


def test_a_bad_period_or_damaged_key_is_a_configuration_error(keys: KeyRing) -> None:
    with pytest.raises(ConfigurationError, match="not a month"):
        keys.get_key("2018-13")
    keys.folder.mkdir(parents=True)
    (keys.folder / "2018-07.key").write_text("abc")
    with pytest.raises(ConfigurationError, match="damaged"):
        keys.get_key("2018-07")


def test_key_folder_inside_the_lake_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="inside the lake"):
        check_key_dir(tmp_path / "lake" / "keys", tmp_path / "lake")
    check_key_dir(tmp_path / "keys", tmp_path / "lake")
