"""The yardstick for a tab's first view: a bare Gradio page of the playground's shape.

A Home tab and one tab per concept id (same ``id`` and ``elem_id`` as the app's, so the same
selectors find them), each holding a plotly figure computed by a page-load event; ``?tab=ID``
selects a tab, as in the app. No plugins, no torch, no theme: what Gradio alone costs.

    python -m tests.load.bare softmax,gpt,moe 7861
"""

from __future__ import annotations

import functools
import math
import sys

import gradio as gr
import plotly.graph_objects as go

POINTS = 200  # a curve about as heavy to draw as a tab's loss or probability plot
ARGV = [sys.executable, "-m", "tests.load.bare"]  # + the tab ids, comma-separated, + a port


def figure(phase: int) -> go.Figure:
    xs = [i / 20 for i in range(POINTS)]
    return go.Figure(go.Scatter(x=xs, y=[math.sin(x + phase) for x in xs], mode="lines"))


def build(tab_ids: list[str]) -> gr.Blocks:
    with gr.Blocks(title="bare") as demo:
        with gr.Tabs() as tabs:
            with gr.Tab("Home", id="home"):
                gr.Markdown("A bare page of the playground's shape.")
            for phase, tab_id in enumerate(tab_ids):
                with gr.Tab(tab_id, id=tab_id, elem_id=f"tab-{tab_id}"):
                    plot = gr.Plot()
                demo.load(functools.partial(figure, phase), None, plot)

        def select(request: gr.Request) -> gr.Tabs:
            tab = request.query_params.get("tab")
            return gr.Tabs(selected=tab) if tab in tab_ids else gr.Tabs()

        demo.load(select, None, tabs)
    demo.queue()
    return demo


def main(argv: list[str]) -> None:
    tab_ids, port = argv
    build(tab_ids.split(",")).launch(server_name="127.0.0.1", server_port=int(port))


if __name__ == "__main__":
    main(sys.argv[1:])
