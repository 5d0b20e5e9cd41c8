"""Pseudonyms for personal identifiers: a keyed hash whose key rotates every month.

Why a keyed hash and not a plain one: card numbers come from a small space, so anyone
could hash every possible number and reverse a plain hash. With HMAC-SHA256 under a
secret key, a pseudonym says nothing without the key, and the key lives outside the
lake (``Settings.privacy_key_dir``), so a copy of the lake alone links nobody.

Why rotate: one key per calendar month ("key period") lets the taps of one card link
within the month (trips, origin-destination flows) but not across months, so the lake
never holds a card's long-term history. A month's key is created on first use from the
operating system's random source and kept in ``<key_dir>/<YYYY-MM>.key`` with
permissions 0600; deleting old key files makes their pseudonyms unlinkable for good.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from urbanpulse.errors import ConfigurationError

KEY_BYTES = 32
# 128 bits: collisions stay out of reach for billions of cards, and a pseudonym is
# lowercase hex, which no source card number (letters/digits in upper case) can match.
PSEUDONYM_HEX = 32
_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class KeyRing:
    """The monthly pseudonymisation keys kept in one folder.

    Parameters
    ----------
    folder
        Folder of the key files; created with permissions 0700 on first use.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder).resolve()
        self._cache: dict[str, bytes] = {}

    def get_key(self, period: str) -> bytes:
        """The secret key of one key period (``YYYY-MM``), created on first use."""
        if not _PERIOD.match(period):
            raise ConfigurationError(f"key period {period!r} is not a month like 2018-09")
        if period not in self._cache:
            self._cache[period] = self._read_or_create(period)
        return self._cache[period]

    def pseudonymise(self, identifier: str, period: str) -> str:
        """The pseudonym of an identifier in one key period (stable within it)."""
        digest = hmac.new(self.get_key(period), identifier.encode("utf-8"), hashlib.sha256)
        return digest.hexdigest()[:PSEUDONYM_HEX]

    def _read_or_create(self, period: str) -> bytes:
        path = self.folder / f"{period}.key"
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            return _create_key(path)
        except FileExistsError:
            return _read_key(path)
        except OSError as exc:
            raise ConfigurationError(f"cannot use the key folder {self.folder}: {exc}") from None


def check_key_dir(key_dir: Path, lake_root: Path) -> None:
    """Refuse a key folder inside the lake: the keys would travel with the data."""
    keys, lake = key_dir.resolve(), lake_root.resolve()
    if keys == lake or lake in keys.parents:
        raise ConfigurationError(
            f"the privacy key folder {keys} lies inside the lake {lake}; set "
            "URBANPULSE_PRIVACY_KEY_DIR to a folder outside it"
        )


def _create_key(path: Path) -> bytes:
    # Written aside, then linked: link fails if the month's key exists, so two processes
    # starting a month at once agree on one key, and no reader sees a half-written file.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    key = secrets.token_bytes(KEY_BYTES)
    try:
        os.write(fd, key.hex().encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    finally:
        tmp.unlink()
    return key


def _read_key(path: Path) -> bytes:
    text = path.read_text("ascii").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        # A half-written file from a crashed writer: never hash with a short key.
        raise ConfigurationError(f"key file {path} is damaged; it must hold {KEY_BYTES} bytes")
    return key
