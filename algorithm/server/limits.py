"""Request bodies over a limit are refused with 413 while they stream in, never held in memory
first: a declared ``Content-Length`` over the limit is answered before one byte is read, and a
body that passes the limit (chunked, or longer than declared) is cut off when it does. Up to
``DRAIN_BYTES`` of the rest is read and dropped before the 413 goes out: a client still
sending when the server closes would see a reset connection instead of the answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DRAIN_BYTES = 64 << 20


class BodyTooLarge(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BodyLimit:
    """ASGI middleware; ``limit_for(scope)`` gives a route's limit in bytes and how to name it."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[Scope], tuple[int, str]]):
        self.app, self.limit_for = app, limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, what = self.limit_for(scope)
        message = f"request body over the limit of {_size(limit)} ({what})"
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            if declared - limit <= DRAIN_BYTES:
                await _drain(receive, declared)
            await _send_413(send, message)
            return
        state = {"received": 0, "exceeded": False, "started": False}

        async def limited_receive() -> Message:
            event = await receive()
            if event["type"] == "http.request":
                state["received"] += len(event.get("body", b""))
                if state["received"] > limit:
                    state["exceeded"] = True
                    if event.get("more_body", False):
                        await _drain(receive, DRAIN_BYTES)
                    raise BodyTooLarge(message)
            return event

        async def guarded_send(event: Message) -> None:
            if state["exceeded"]:  # whatever the app answers to a cut-off body: a 413 instead
                if event["type"] == "http.response.start" and not state["started"]:
                    state["started"] = True
                    await _send_413(send, message)
                return
            if event["type"] == "http.response.start":
                state["started"] = True
            await send(event)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyTooLarge:
            if not state["started"]:
                state["started"] = True
                await _send_413(send, message)


async def _drain(receive: Receive, budget: int) -> None:
    """Read and drop the rest of the body, up to ``budget`` bytes."""
    while budget > 0:
        event = await receive()
        if event["type"] != "http.request":
            return
        budget -= len(event.get("body", b""))
        if not event.get("more_body", False):
            return


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_413(send: Send, message: str) -> None:
    body = json.dumps({"detail": message}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def _size(limit: int) -> str:
    return f"{limit / 2**20:g} MB" if limit >= 2**20 else f"{limit / 2**10:g} KB"
