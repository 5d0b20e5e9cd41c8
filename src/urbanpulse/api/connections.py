"""The HTTP connection as the server holds it: a request head must arrive in time.

uvicorn closes a keep-alive connection that stays idle after a response, but a new
connection that sends nothing, or a head that trickles in a byte at a time, was held for
ever: 20,100 such half-open connections exhausted the process's file descriptors, and
/api/health failed with the rest. :class:`TimedHttpProtocol` gives every request head
``header_timeout`` seconds from the connection's first byte (or from the end of the
previous response), then answers 408 and closes. A body is not timed here: the body cap
(api/middleware.py) bounds it, and a slow upload of a few KiB is a person on a bad line.

Within those seconds a flood can still fill every connection slot (``max_connections``,
beyond which uvicorn answers 503 to everyone), so a new connection that arrives at the
bound takes the slot of the oldest one that has sent nothing yet: a person's request,
which starts at once, is served while a silent flood only pushes out itself.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import weakref
from asyncio import TimerHandle
from typing import Any

from uvicorn.config import LOGGING_CONFIG
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from urbanpulse.access.redaction import redact_target

HEAD_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\ncontent-length: 32\r\n\r\nthe request head came too slowly"
)


def build_timed_protocol(header_timeout: float) -> type[HttpToolsProtocol]:
    """uvicorn's ``http`` protocol class with this head timeout."""

    class Protocol(TimedHttpProtocol):
        pass

    Protocol.header_timeout = header_timeout
    return Protocol


# Per server, its connections that have not sent a byte of a request yet, oldest first.
_SILENT: weakref.WeakKeyDictionary[ServerState, dict[TimedHttpProtocol, None]] = (
    weakref.WeakKeyDictionary()
)


class TimedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with a deadline for each request head, whose
    connections make room for a newcomer by closing the oldest silent one."""

    header_timeout = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: TimerHandle | None = None
        self._silent = _SILENT.setdefault(self.server_state, {})

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()
        self._make_room()
        self._silent[self] = None

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._silent.pop(self, None)
        self._arm_head_timer()  # the next request on a kept-alive connection

    def _make_room(self) -> None:
        """Close the oldest silent connections while the server is at its bound."""
        limit = self.limit_concurrency
        while limit is not None and len(self.connections) >= limit and self._silent:
            oldest = next(iter(self._silent))
            del self._silent[oldest]
            oldest._cancel_head_timer()
            self.connections.discard(oldest)  # now, not when the loss is reported
            oldest.transport.abort()

    def on_headers_complete(self) -> None:
        self._cancel_head_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        self._silent.pop(self, None)
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.header_timeout, self._on_head_timeout)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _on_head_timeout(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        self.transport.write(HEAD_TIMEOUT_RESPONSE)
        self.transport.close()


class RedactedAccessLog(logging.Filter):
    """Blanks credentials in the request target of uvicorn's access log lines (a key
    sent in an address must not reach log files)."""

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn.access formats (client, method, target, http version, status).
        if isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, target, version, status = record.args
            record.args = (client, method, redact_target(str(target)), version, status)
        return True


def build_log_config() -> dict[str, Any]:
    """uvicorn's logging configuration with the access log's credentials redacted."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_credentials"] = {"()": RedactedAccessLog}
    config["handlers"]["access"]["filters"] = ["redact_credentials"]
    return config
