"""What every request is held to before anything reads it: HEAD answered as GET without
a body, and headers of a bounded size (credentials above all), so that a megabyte of
``Authorization`` is refused at once instead of being hashed, decoded and looked up."""

from __future__ import annotations

from starlette.types import Message, Receive, Scope, Send

from urbanpulse.api.middleware import HttpMiddleware, send_error

# An API key is 50-odd characters and an OpenID Connect JWT a few hundred to 2,000; 8 KiB
# leaves room for large identity-provider tokens while refusing absurd ones.
MAX_CREDENTIAL_BYTES = 8 * 1024
# All headers together (browsers send a few KiB; nginx's default buffers hold 32 KiB).
MAX_HEADER_BYTES = 32 * 1024
CREDENTIAL_HEADERS = (b"authorization", b"x-api-key", b"cookie")


class RequestLimitsMiddleware(HttpMiddleware):
    """431 for oversized headers; HEAD served by the GET route, its body dropped."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = _get_header_problem(scope["headers"])
        if problem is not None:
            await send_error(send, 431, problem)
            return
        if scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_head(message: Message) -> None:
            # The headers (Content-Length included) are the GET's; the body is not sent.
            if message["type"] == "http.response.body":
                message = {"type": "http.response.body", "body": b"", "more_body": False}
                if sent_end:
                    return
                sent_end.append(True)
            await send(message)

        sent_end: list[bool] = []
        await self.app({**scope, "method": "GET"}, receive, send_head)


def _get_header_problem(headers: list[tuple[bytes, bytes]]) -> str | None:
    total = 0
    for name, value in headers:
        total += len(name) + len(value)
        if name.lower() in CREDENTIAL_HEADERS and len(value) > MAX_CREDENTIAL_BYTES:
            return (
                f"the {name.decode('latin-1')} header is longer than "
                f"{MAX_CREDENTIAL_BYTES} bytes: no credential is that long"
            )
    if total > MAX_HEADER_BYTES:
        return f"the request headers are larger than {MAX_HEADER_BYTES} bytes"
    return None
