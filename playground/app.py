"""create_app(): one gr.Blocks with Home, one tab per concept, and Plugins."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr

from playground import devices, errors, lanes, opening, pagecache, quiz, zerogpu
from playground.host import Host, load
from playground.pages import CSS, HEAD, home_html, plugins_html

TITLE = "ML Playground"
QUEUE_MAX_SIZE = 64  # past this, waiting users are told the app is busy
# Gradio writes an upload to disk before any tab sees it: refuse more than the largest any
# tab takes (the LoRA adapter's 50 MB) right at the door.
MAX_FILE_SIZE = "64mb"
# Soft, with every text at WCAG AA contrast (4.5:1) on its fill: its 500-level labels, grey
# notes and white-on-indigo buttons measured 2.5-4.5 (axe-core, tests/test_e2e_layout.py).
THEME = gr.themes.Soft(primary_hue="indigo", secondary_hue="amber").set(
    color_accent="*primary_600",  # a selected tab's label
    checkbox_label_background_fill_selected="*primary_600",
    block_label_text_color="*primary_700",
    block_title_text_color="*primary_700",
    body_text_color_subdued="*neutral_600",
    body_text_color_subdued_dark="*neutral_300",
    input_placeholder_color="*neutral_500",
    button_primary_background_fill="*primary_600",
    button_primary_background_fill_hover="*primary_700",
)


_COMPOSING = threading.local()  # .on: this thread is composing the app


def _unless_composing(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        return None if getattr(_COMPOSING, "on", False) else fn(*args, **kwargs)

    call.skips_while_composing = True  # type: ignore[attr-defined]
    return call


def _serving(create: Callable[..., Any]) -> Callable[..., Any]:
    """Gradio's ``App.create_app``, skipped while composing, and with the page cache
    (:mod:`playground.pagecache`) outside every app it builds to serve, unless that app asks
    visitors to log in (each would get a page of their own)."""
    skipping = _unless_composing(create)

    @functools.wraps(create)
    def call(*args: Any, **kwargs: Any) -> Any:
        app = skipping(*args, **kwargs)
        if app is not None and app.auth is None and app.auth_dependency is None:
            app.add_middleware(pagecache.PageCache)
        return app

    call.skips_while_composing = True  # type: ignore[attr-defined]
    return call


@contextlib.contextmanager
def _composing() -> Iterator[None]:
    """Skip, in this thread while it lasts, what Gradio builds and never serves.

    Gradio builds a web server (a FastAPI app of about 80 routes) when a gr.Blocks is made and
    again when its ``with`` ends, with the page's config; launch() builds both once more, the
    only ones it serves. Composing the playground (a Blocks per concept and the app's own)
    built 18 servers and 9 configs: 1.5 to 2 s of a cold start on 2 cores. launch() and
    gr.mount_gradio_app build theirs as before.
    """
    from gradio.blocks import Blocks
    from gradio.routes import App

    if not getattr(App.create_app, "skips_while_composing", False):
        setattr(App, "create_app", staticmethod(_serving(App.create_app)))  # noqa: B010
        setattr(Blocks, "get_config_file", _unless_composing(Blocks.get_config_file))  # noqa: B010
    outer, _COMPOSING.on = getattr(_COMPOSING, "on", False), True
    try:
        yield
    finally:
        _COMPOSING.on = outer  # a composition inside another leaves the outer one skipping


def create_app(host: Host | None = None) -> gr.Blocks:
    """Build every concept first (a failing build costs only its tab), then compose them."""
    with _composing():
        return _compose(host if host is not None else load())


def _compose(host: Host) -> gr.Blocks:
    built = host.build()
    concepts = [concept for concept, _ in built]
    tab_ids = {"home", "plugins", *(c.id for c in concepts)}

    with gr.Blocks(title=TITLE) as app:
        gr.Markdown(f"# {TITLE}", elem_id="pg-title")
        # Every tab one click away, in a fixed order: a bar that wraps rather than a "more" menu.
        with gr.Tabs(overflow_behavior="wrap") as tabs:
            with gr.Tab("Home", id="home", elem_id="tab-home"):
                concept_map = gr.HTML(home_html(concepts), elem_id="concept-map")
            for concept, blocks in built:
                with gr.Tab(concept.title, id=concept.id, elem_id=f"tab-{concept.id}"):
                    blocks.render()
                    if exercises := host.exercises(concept.id):
                        quiz.panel(concept.id, exercises, host.context(concept))
                        errors.wrap(app, concept.title)  # the exercises just added
            with gr.Tab("Plugins", id="plugins", elem_id="tab-plugins"):
                gr.HTML(plugins_html(host.plugins.values()), elem_id="plugin-table")
        with gr.Row(visible="hidden"):  # each tab's opener: tabs.js clicks it on first show
            for concept, blocks in built:
                heads = opening.defer(app, blocks, concept.id)
                if concept.shared_view:
                    opening.share_views(app, heads)

        def open_linked_tab(request: gr.Request) -> gr.Tabs:
            # Open the tab a link names; without one, leave alone whatever the user clicked.
            tab = request.query_params.get("tab")
            if tab is not None and tab not in tab_ids:
                gr.Warning(f"There is no tab {tab!r}; showing Home.")
                tab = "home"
            return gr.Tabs(selected=tab) if tab else gr.Tabs()

        def device_map() -> str:
            # Finding the device imports torch: after the linked tab is open, not before.
            return home_html(concepts, lambda c: devices.device(c.devices))

        quiet = dict(api_visibility="private", show_progress="hidden")
        opened = app.load(open_linked_tab, None, tabs, concurrency_limit=None, **quiet)
        opened.then(device_map, None, concept_map, **quiet)
    errors.wrap(app, TITLE)
    app.queue(max_size=QUEUE_MAX_SIZE)
    return app


def launch(app: gr.Blocks, **kwargs) -> None:
    """Launch with the playground's look (Gradio 6 takes theme, css and head at launch)."""
    kwargs.setdefault("max_file_size", MAX_FILE_SIZE)
    app.launch(theme=THEME, css=CSS, head=HEAD, **kwargs)


MALLOC_ARENAS = 2  # glibc's malloc arenas for the whole process (see docs/reliability.md)
M_ARENA_MAX = -8  # mallopt's parameter number in glibc's malloc.h


def limit_malloc_arenas() -> None:
    """Cap glibc's per-thread heaps, as MALLOC_ARENA_MAX=2 would: Gradio serves events from
    up to 40 threads, and with an arena each, memory grew 25% under load instead of 4%."""
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to cap
        ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, MALLOC_ARENAS)


def serve(app: gr.Blocks, host: Host, server_name: str, server_port: int, **kwargs) -> None:
    """Launch, warm the built concepts' heavy imports once the page is served, then block."""
    limit_malloc_arenas()  # before the server's threads start allocating
    errors.configure_logging()
    # quiet: Gradio's banner would tell the user to edit launch(); our CLI has --share for that.
    launch(
        app,
        server_name=server_name,
        server_port=server_port,
        prevent_thread_lock=True,
        quiet=True,
        **kwargs,
    )
    print(f"* Running on local URL:  {app.local_url}", flush=True)
    if not app.share_url:  # Gradio prints a public URL itself, quiet or not
        print("* For a public link, start it with `playground serve --share`.", flush=True)
    lanes.share_cores()  # imports torch (1 to 2 s): once the server answers, not before
    host.preload(host.built)
    if not zerogpu.on_zerogpu():  # there every call would spend GPU quota
        opening.warm_in_background(app)
    app.block_thread()
