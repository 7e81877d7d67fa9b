"""A raw HTTP client for Gradio's `/call/` API, for the fuzz, the fault tests and the load run.

Raw rather than gradio_client: a hostile caller's NaN, inf and lone surrogates reach the
server exactly as sent, a streaming answer can be read up to its first chunk and then dropped
(a disconnect, which ends the event on the server), and every call has a hard deadline.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

GENERIC_ERROR = "The upstream Gradio app has raised an exception"  # gradio_client's text


@dataclass
class Answer:
    event: str  # complete | generating | error | http | timeout | eof
    data: Any = None
    seconds: float = 0.0

    @property
    def message(self) -> str | None:
        """The gr.Error text of an error answer, or None when there is none (a crash)."""
        if self.event != "error":
            return None
        text = self.data.get("error") if isinstance(self.data, dict) else self.data
        return text if isinstance(text, str) and text.strip() else None

    @property
    def ok(self) -> bool:
        """A result, a chunk of one, a refusal with a message, or a 4xx refusal of the request."""
        if self.event in ("complete", "generating"):
            return True
        if self.event == "error":
            return self.message is not None and GENERIC_ERROR not in self.message
        return self.event == "http" and 400 <= self.data[0] < 500


def call(
    url: str, api_name: str, args: list | tuple, deadline_s: float = 60, first_chunk: bool = True
) -> Answer:
    """Call one endpoint and wait for its answer, or (``first_chunk``) its first streamed chunk,
    after which the stream is closed: the server then stops the generator."""
    base = f"{url.rstrip('/')}/gradio_api/call/{api_name.lstrip('/')}"
    start = time.perf_counter()
    # allow_nan: NaN and inf as a hostile client sends them (strict JSON has neither)
    body = json.dumps({"data": list(args)}, allow_nan=True)
    joined = httpx.post(
        base, content=body, headers={"content-type": "application/json"}, timeout=deadline_s
    )
    if joined.status_code != 200:
        return Answer("http", (joined.status_code, joined.text[:500]), time.perf_counter() - start)
    event_id = joined.json()["event_id"]
    event = ""
    end = time.monotonic() + deadline_s
    with httpx.stream("GET", f"{base}/{event_id}", timeout=deadline_s) as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.removeprefix("event:").strip()
            elif line.startswith("data:") and (
                event in ("complete", "error") or (event == "generating" and first_chunk)
            ):
                data = json.loads(line.removeprefix("data:"))
                return Answer(event, data, time.perf_counter() - start)
            if time.monotonic() > end:
                return Answer("timeout", None, time.perf_counter() - start)
    return Answer("eof", None, time.perf_counter() - start)


def upload(url: str, path: Path) -> dict[str, Any]:
    """Upload one file the way the browser does; the FileData an endpoint takes for it."""
    with path.open("rb") as f:
        response = httpx.post(
            f"{url.rstrip('/')}/gradio_api/upload", files=[("files", (path.name, f))], timeout=60
        )
    response.raise_for_status()
    (server_path,) = response.json()
    return {"path": server_path, "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}


def healthy(url: str) -> bool:
    """The page and the API description are served."""
    try:
        page = httpx.get(url, timeout=30)
        info = httpx.get(f"{url.rstrip('/')}/gradio_api/info", timeout=30)
    except httpx.HTTPError:
        return False
    return page.status_code == 200 and info.status_code == 200
