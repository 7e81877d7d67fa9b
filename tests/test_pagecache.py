"""The page cache (playground.pagecache): the page, config and API description are built once
per address and encoding, a burst waits for the first build, and nothing else is kept."""

from __future__ import annotations

import asyncio
import types
from concurrent.futures import ThreadPoolExecutor

import gradio as gr
import httpx

from playground import Concept, hookimpl, pagecache
from playground.app import create_app, launch
from playground.host import Host
from playground.models import ModelRegistry


class Inner:
    """An ASGI app answering with the Host it was asked under; counts what it built."""

    def __init__(self, status: int = 200, cookie: bool = False) -> None:
        self.built = 0
        self.status, self.cookie = status, cookie
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self, scope, receive, send) -> None:
        self.built += 1
        await self.release.wait()
        await asyncio.sleep(0)  # a real app yields while it builds: others run meanwhile
        host = dict(scope["headers"]).get(b"host", b"")
        headers = [(b"content-type", b"text/html")]
        if self.cookie:
            headers.append((b"set-cookie", b"visitor=1"))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": b"page for " + host})


def request(path: str = "/", host: bytes = b"a.org", method: str = "GET", query: bytes = b""):
    return {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query,
        "headers": [(b"host", host), (b"accept-encoding", b"br")],
    }


async def ask(app, scope) -> tuple[int, bytes]:
    sent = []

    async def send(message):
        sent.append(message)

    await app(scope, None, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def run(coroutine):
    """Run ``coroutine`` on a loop in a thread of its own: in a process that also runs the
    browser tests, Playwright keeps an event loop running in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_the_same_address_gets_the_first_answer_and_another_address_its_own():
    inner = Inner()
    cache = pagecache.PageCache(inner)
    assert run(ask(cache, request())) == (200, b"page for a.org")
    assert run(ask(cache, request())) == (200, b"page for a.org")
    assert run(ask(cache, request(query=b"tab=moe&text=hi"))) == (200, b"page for a.org")
    assert inner.built == 1  # a tab's link is the same page
    assert run(ask(cache, request(host=b"b.org"))) == (200, b"page for b.org")
    assert run(ask(cache, request(query=b"deep_link=x"))) == (200, b"page for a.org")
    assert inner.built == 3  # another root URL, and a parameter Gradio reads


def test_only_plain_gets_of_the_three_paths_are_kept():
    inner = Inner()
    cache = pagecache.PageCache(inner)
    for scope in (request("/gradio_api/queue/join"), request(method="POST")) * 2:
        run(ask(cache, scope))
    assert inner.built == 4
    for failing in (Inner(status=500), Inner(cookie=True)):
        cache = pagecache.PageCache(failing)
        run(ask(cache, request()))
        run(ask(cache, request()))
        assert failing.built == 2 and not cache.kept


def test_a_burst_waits_for_one_build_and_the_cache_stays_bounded():
    async def burst():
        inner = Inner()
        inner.release.clear()
        cache = pagecache.PageCache(inner)
        visitors = [asyncio.create_task(ask(cache, request())) for _ in range(5)]
        await asyncio.sleep(0)  # every visitor has arrived while the first page is building
        inner.release.set()
        answers = await asyncio.gather(*visitors)
        return inner, cache, answers

    inner, cache, answers = run(burst())
    assert inner.built == 1 and set(answers) == {(200, b"page for a.org")}
    for i in range(pagecache.KEEP + 3):
        run(ask(cache, request(host=f"h{i}.org".encode())))
    assert len(cache.kept) == pagecache.KEEP


def test_a_burst_whose_first_answer_is_not_kept_is_answered_one_build_at_a_time():
    async def burst():
        inner = Inner(status=500)
        inner.release.clear()
        cache = pagecache.PageCache(inner)
        visitors = [asyncio.create_task(ask(cache, request())) for _ in range(3)]
        await asyncio.sleep(0)
        inner.release.set()
        return inner, cache, await asyncio.gather(*visitors)

    inner, cache, answers = run(burst())
    assert inner.built == 3 and {status for status, _ in answers} == {500}
    assert not cache.kept and not cache.building


def _build(_context) -> gr.Blocks:
    with gr.Blocks() as tab:
        gr.Markdown("A page.")
    return tab


@hookimpl
def register_concepts(register):
    register(Concept(id="page", title="Page", summary="A page.", build=_build))


def test_the_served_app_keeps_its_page_per_root_url():
    module = types.ModuleType("page_plugin")
    module.register_concepts = register_concepts
    app = create_app(Host(ModelRegistry()).add_module("page_plugin", module))
    launch(app, server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    try:
        url = app.local_url
        first, again = (httpx.get(f"{url}?tab=page").text for _ in range(2))
        proxied = httpx.get(url, headers={"x-forwarded-host": "example.org"}).text
        layer = app.server_app.middleware_stack
        while not isinstance(layer, pagecache.PageCache):
            layer = layer.app
    finally:
        app.close()
    assert first == again and "example.org" not in first
    assert "//example.org" in proxied  # Gradio wrote the proxy's address as the page's root
    assert len(layer.kept) == 2
