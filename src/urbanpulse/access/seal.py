"""The audit log's seal: a secret key and a signed head, kept apart from the log.

A hash chain alone shows edits only to someone who trusts the last hash: whoever can
write the access store can delete the newest entries, or change one and recompute every
hash after it, or append entries of their own, and the chain still verifies. The seal
closes those three doors:

- each entry's link is an HMAC-SHA256 under a key that lives in the seal's folder, not
  in the store, so an entry cannot be changed, re-hashed or forged without the key;
- after every append the seal writes the head of the log (its last sequence number and
  hash) with an HMAC of its own, so a log shorter than its head, or whose entry at the
  head's sequence has another hash, was cut or rewritten.

The folder (``settings.audit_seal_dir``) should lie where whoever holds the store does
not: another volume, or storage that only this service's user can write. Someone who
holds both the store and the folder, and kept an old copy of the head, can still roll
both back together; sending the head to a second place (a log server) is the remedy.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from pathlib import Path

from urbanpulse.errors import ConfigurationError

KEY_FILE = "audit.key"
HEAD_FILE = "audit.head.json"


class AuditSeal:
    """The key and the signed head of one audit log, in ``folder`` (created 0700, files
    0600, the key made on first use). Logs sharing a folder share the key and keep
    heads of their own, named by ``log_id``."""

    def __init__(self, folder: Path, *, log_id: str = "") -> None:
        self.folder = Path(folder)
        self.head_path = self.folder / (f"audit.head.{log_id}.json" if log_id else HEAD_FILE)
        self._key: bytes | None = None
        self._lock = threading.Lock()

    @property
    def key(self) -> bytes:
        """The secret key (32 random bytes), read or made once."""
        if self._key is None:
            with self._lock:
                self._key = self._key or self._read_or_make_key()
        return self._key

    def sign(self, payload: str) -> str:
        """HMAC-SHA256 of ``payload`` under the key, as hex."""
        return hmac.new(self.key, payload.encode(), hashlib.sha256).hexdigest()

    def write_head(self, seq: int, entry_hash: str) -> None:
        """Record (seq, hash) as the log's head, atomically and durably."""
        head = {"seq": seq, "hash": entry_hash, "mac": self.sign(f"head|{seq}|{entry_hash}")}
        temporary = self.folder / f".{self.head_path.name}.{os.getpid()}.{threading.get_ident()}"
        try:
            self._make_folder()
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                json.dump(head, file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.head_path)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot write the audit log's head in {self.folder}: {exc.strerror}"
            ) from None

    def read_head(self) -> tuple[int, str] | None:
        """The signed head (seq, hash); None when there is none yet.

        Raises
        ------
        ConfigurationError
            The head cannot be read, or its signature does not match (forged or edited).
        """
        path = self.head_path
        if not path.exists():
            return None
        try:
            head = json.loads(path.read_text(encoding="utf-8"))
            seq, entry_hash, mac = int(head["seq"]), str(head["hash"]), str(head["mac"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(f"cannot read the audit log's head {path}: {exc}") from None
        if not hmac.compare_digest(mac, self.sign(f"head|{seq}|{entry_hash}")):
            raise ConfigurationError(f"the audit log's head {path} is not signed by its key")
        return seq, entry_hash

    def _read_or_make_key(self) -> bytes:
        path = self.folder / KEY_FILE
        try:
            self._make_folder()
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                key = path.read_bytes()
            else:
                key = secrets.token_bytes(32)
                with os.fdopen(descriptor, "wb") as file:
                    file.write(key)
                    file.flush()
                    os.fsync(file.fileno())
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read or make the audit key in {self.folder}: {exc.strerror}"
            ) from None
        if len(key) < 32:
            raise ConfigurationError(f"the audit key {path} is shorter than 32 bytes")
        return key

    def _make_folder(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.folder, 0o700)  # whatever the umask or an earlier mkdir left
