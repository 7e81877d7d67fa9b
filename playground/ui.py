"""Layout pieces every tab shares (gradio-free values, so views and tests may read them too)."""

import re

# Markdown and Chatbot math: $$…$$ for a display formula, $…$ inline
LATEX = [
    {"left": "$$", "right": "$$", "display": True},
    {"left": "$", "right": "$", "display": False},
]

# A Stop button's event: private, and outside the queue so that it never waits behind the
# run it stops. The host (playground.lanes) also ends the visitor's job before its next update.
STOP = dict(api_visibility="private", queue=False)

# A training run's summary names its progress "Step N of M" (bold either way round).
_PROGRESS = re.compile(r"\*{0,2}Step \*{0,2}([\d,]+) of ([\d,]+)\*{0,2}")


def stopped(summary: str | None) -> str:
    """A Stop button's handler: the summary of the run it cancelled, saying where it stopped
    ("Step 40 of 150" becomes "Stopped at step 40 of 150"); a finished run's is left alone."""
    summary = summary or ""
    found = _PROGRESS.search(summary)
    if not found or found[1] == found[2]:
        return summary
    note = f"**⏹ Stopped at step {found[1]} of {found[2]}**"
    return f"{summary[: found.start()]}{note}{summary[found.end() :]}"
