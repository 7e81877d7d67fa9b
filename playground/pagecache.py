"""The page, its config and its API description: built once per address, then kept.

Gradio builds "/" (1.4 MB of HTML holding the whole config and API description), "/config"
and "/gradio_api/info" afresh for every request: a deep copy of the config, a walk over it
rewriting URLs, a template, then compression. That is about 0.1 s of the one process every
visitor shares, and py-spy found it was 45 % of the server's CPU while 8 new visitors opened
the app at once. The answer depends only on the address the visitor used (the root URL Gradio
writes into it), the encodings its browser accepts and a few query parameters, so
:class:`PageCache` keeps each answer under those and serves later visitors the same bytes.
A burst arriving before the first answer waits for it (single flight) instead of building it
again. The app's config is fixed once launched; an app with a login is left alone.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any
from urllib.parse import parse_qsl

PATHS = frozenset({"/", "/config", "/gradio_api/info"})
QUERY = ("page", "deep_link", "all_endpoints")  # the parameters these routes read
# What Gradio's root URL is made of (behind a proxy: the forwarded ones), and the encoding.
HEADERS = (b"host", b"x-forwarded-host", b"x-forwarded-proto", b"forwarded", b"accept-encoding")
KEEP = 16  # answers kept (least recently used goes first): addresses × encodings


def key(scope: dict[str, Any]) -> tuple:
    """What the answer to ``scope`` depends on."""
    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
    headers = dict(scope.get("headers", ()))
    return (
        scope["path"],
        scope.get("root_path", ""),
        scope.get("scheme", "http"),
        tuple(query.get(name) for name in QUERY),
        tuple(headers.get(name) for name in HEADERS),
    )


def _keepable(start: dict[str, Any]) -> bool:
    """A plain success that sets nothing in the browser."""
    if start["status"] != 200:
        return False
    return not any(name.lower() == b"set-cookie" for name, _ in start.get("headers", ()))


class PageCache:
    """ASGI middleware keeping the answers to GET requests for :data:`PATHS`."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.kept: OrderedDict[tuple, tuple[dict[str, Any], bytes]] = OrderedDict()
        self.building: dict[tuple, asyncio.Event] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] not in PATHS:
            await self.app(scope, receive, send)
            return
        k = key(scope)
        while k not in self.kept and k in self.building:  # someone is building it: wait
            await self.building[k].wait()  # (and if theirs was not kept, the next one builds)
        if k in self.kept:
            self.kept.move_to_end(k)
            start, body = self.kept[k]
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return
        self.building[k] = done = asyncio.Event()
        try:
            await self.app(scope, receive, self._keeping(k, send))
        finally:
            del self.building[k]
            done.set()

    def _keeping(self, k: tuple, send: Any) -> Any:
        """``send``, also keeping a complete, keepable answer under ``k``."""
        start: dict[str, Any] | None = None
        chunks: list[bytes] = []

        async def keep(message: dict[str, Any]) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                complete = not message.get("more_body", False)
                if complete and start is not None and _keepable(start):
                    self.kept[k] = (start, b"".join(chunks))
                    while len(self.kept) > KEEP:
                        self.kept.popitem(last=False)
            await send(message)

        return keep
