"""Layout pieces every tab shares (gradio-free values, so views and tests may read them too)."""

import re

# Markdown and Chatbot math: $$…$$ for a display formula, $…$ inline
LATEX = [
    {"left": "$$", "right": "$$", "display": True},
    {"left": "$", "right": "$", "display": False},
]

# A training run's summary names its progress "Step N of M" (bold either way round).
_PROGRESS = re.compile(r"\*{0,2}Step \*{0,2}([\d,]+) of ([\d,]+)\*{0,2}")


def stop() -> None:
    """A Stop button's handler. The host (playground.lanes) gives it the visitor: it ends the
    visitor's long job of the same tab at that job's next update, whose summary then says where
    it stopped (:func:`stopped`)."""


# A Stop button's event (``stop_btn.click(**STOP)``): private, outside the queue so that it
# never waits behind the run it stops, and writing nothing itself. The run's own last update
# says "Stopped": it is the last message of the run's one stream, so nothing overwrites it.
# (Gradio's ``cancels`` ends a run mid-step, and that step's update could reach the page after
# the Stop button's answer.)
STOP = dict(fn=stop, inputs=None, outputs=None, api_visibility="private", queue=False)


def stopped(summary: str | None) -> str:
    """A run's summary saying where it stopped ("Step 40 of 150" becomes "Stopped at step 40 of
    150"); a finished run's, or text with no progress in it, is left alone."""
    summary = summary or ""
    found = _PROGRESS.search(summary)
    if not found or found[1] == found[2]:
        return summary
    note = f"**Stopped at step {found[1]} of {found[2]}**"  # no ⏹: many fonts lack it
    return f"{summary[: found.start()]}{note}{summary[found.end() :]}"
