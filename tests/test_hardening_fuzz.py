"""Property-based fuzz (hypothesis) over every public endpoint of the whole app, live.

The endpoints are discovered with gradio_client's ``view_api`` against the session server, so
a concept that lands later is fuzzed without editing this file. Every parameter gets, besides
its default, hostile values: the wrong type, empty, None, NaN, ±inf, huge numbers, a 100 000
character string, control characters, lone surrogates (invalid Unicode), paths to files on the
server, and for uploads: nothing, a non-image, an empty file, a truncated PNG, a decompression
bomb and an oversized file. Each answer must be a result or a gr.Error message: an error
without a message is an unhandled exception, which the user sees as "The upstream Gradio app
has raised an exception". Afterwards the server must still answer.

In-range maxima are not drawn: they are legitimate (costly) work, bounded by each tab's own
caps, and the load test exercises real work. Reproducible: derandomized, no example database;
the calls are drawn first, then each tab's are sent in turn, tabs side by side.
"""

from __future__ import annotations

import ast
import io
import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from playground.host import load
from tests.load.client import Answer, call, healthy, upload

pytestmark = pytest.mark.slow  # minutes of hostile calls: the full run only

EXAMPLES_PER_ENDPOINT = 6
CALL_DEADLINE_S = 180  # later than this counts as a hang (generous: a shared machine)
LONG = "x" * 100_000
SECRET_MARKER = "root:x:0:0"  # the first line of /etc/passwd: must never come back
FUZZ = settings(
    max_examples=EXAMPLES_PER_ENDPOINT,
    deadline=None,
    derandomize=True,
    database=None,
    phases=(Phase.explicit, Phase.generate),  # problems are collected, not shrunk
    suppress_health_check=list(HealthCheck),
)

# fmt: off
HOSTILE_TEXT = [
    "", " ", LONG, "\x00", "\x00\x01\x02\x07\x08\x1b[31mred\x1b[0m\r\n\t", "\u202eevil\u202c",
    "\ud800", "abc\udfffdef", "\U0001f600" * 1000, "nan", "inf", "-1e308", "1" * 400,
    "/etc/passwd", "../../../../etc/passwd", "file:///etc/passwd", "{{7*7}}", "<script>x</script>",
    "a, b, " * 20_000, "\n" * 10_000,
]
HOSTILE_NUMBERS = [
    math.nan, math.inf, -math.inf, 1e308, -1e308, 2**64, -(2**63), 10**12, -1, 0, 0.5, 1e-320,
]
WRONG_TYPES = [None, True, False, [], {}, [1, 2, 3], {"a": 1}, "", LONG, "\ud800", 1e308, math.nan]
# fmt: on


def _choices(python_type: str) -> list[Any]:
    """The choices a Dropdown or Radio lists, from view_api's ``Literal[...]`` type."""
    if not python_type.startswith("Literal["):
        return []
    try:
        return list(ast.literal_eval(f"[{python_type.removeprefix('Literal[')[:-1]}]"))
    except (SyntaxError, ValueError):
        return []


def _table_values(default: Any) -> list[Any]:
    headers = list((default or {}).get("headers") or ["a", "b"])
    width = len(headers)
    row = [math.nan, math.inf, -math.inf, 1e308, "x", None, "", LONG[:1000]]
    return [
        None,
        "",
        "a table",
        [],
        {},
        {"headers": headers, "data": []},
        {"headers": headers, "data": [[None] * width]},
        {"headers": headers, "data": [(row * width)[:width] for _ in range(3)]},
        {"headers": headers, "data": [[1] * (width + 3)]},  # too many columns
        {"headers": headers, "data": [[1]]},  # too few
        {"headers": headers, "data": [["1"] * width for _ in range(5_000)]},  # very many rows
        {"headers": [], "data": "not rows"},
        {"data": [[1e308] * width], "headers": headers, "metadata": {"display_value": 7}},
    ]


def _strategy(param: dict[str, Any], files: list[Any]) -> st.SearchStrategy:
    component = param["component"]
    default = param.get("parameter_default")
    if component in ("Textbox", "Code", "Markdown"):
        specific = st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=50))
    elif component in ("Number", "Slider"):
        specific = st.one_of(
            st.sampled_from(HOSTILE_NUMBERS),
            st.floats(allow_nan=True, allow_infinity=True),
            st.integers(min_value=-(2**70), max_value=2**70),
            st.sampled_from(["12", "abc", "1e999"]),
        )
    elif component in ("Dropdown", "Radio", "CheckboxGroup"):
        choices = _choices(param["python_type"]["type"])
        wrong = ["not-a-choice", "", choices[0] * 1000 if choices else "x", ["a", "b"]]
        specific = st.sampled_from([*choices, *wrong])
    elif component == "Checkbox":
        specific = st.sampled_from([True, False, "yes", 2, math.nan])
    elif component in ("File", "Image", "UploadButton", "Video", "Audio"):
        specific = st.sampled_from(files)
    elif component == "Dataframe":
        specific = st.sampled_from(_table_values(default))
    else:
        specific = st.nothing()
    wrong = st.sampled_from(WRONG_TYPES)
    # The default one time in five: most calls carry more than one hostile value, and few
    # run a full (slow) computation.
    return st.one_of(st.just(default), specific, wrong, specific, wrong)


def _png(size: tuple[int, int], mode: str = "L") -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def endpoints(server) -> dict[str, dict[str, Any]]:
    return Client(server, verbose=False).view_api(return_format="dict", print_info=False)[
        "named_endpoints"
    ]


@pytest.fixture(scope="module")
def files(server, tmp_path_factory) -> list[Any]:
    """What an upload parameter gets: uploaded hostile files, and references to server files."""
    folder = tmp_path_factory.mktemp("uploads")
    made = {
        "not-an-image.png": b"this is plain text, not a PNG\n" * 10,
        "empty.png": b"",
        "truncated.png": _png((64, 64))[:40],
        "bomb.png": _png((8_000, 8_000), "1"),  # 64 M pixels, a few kB on disk
        "oversized.png": _png((16, 16)) + b"\0" * (6 * 1024 * 1024),  # past any 5 MB limit
        "script.py": b"import os; os.system('echo pwned')\n",
        "ok.png": _png((32, 32)),
    }
    uploaded = []
    for name, data in made.items():
        (folder / name).write_bytes(data)
        uploaded.append(upload(server, folder / name))
    outside = [
        "/etc/passwd",
        {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}},
        {"path": str(Path(__file__).resolve()), "meta": {"_type": "gradio.FileData"}},
        {"path": "../../../../etc/passwd", "meta": {"_type": "gradio.FileData"}},
        {"url": "http://127.0.0.1:9/x.png", "path": "x.png", "meta": {"_type": "gradio.FileData"}},
    ]
    return [None, *uploaded, *outside]


def _short(args: list[Any]) -> str:
    return ", ".join(repr(a)[:60] for a in args)


def _problem(answer: Answer) -> str | None:
    if SECRET_MARKER in repr(answer.data):
        return "sent back the contents of /etc/passwd"
    if answer.ok:
        return None
    if answer.event == "error":
        return f"an unhandled exception (error without a gr.Error message: {answer.data!r})"
    return f"{answer.event}: {repr(answer.data)[:300]}"


def _draws(params: list[dict], files: list) -> list[tuple]:
    """The calls hypothesis draws for one endpoint: drawn first, sent afterwards, so that
    tabs (each with its own worker) can be fuzzed side by side."""
    drawn: list[tuple] = []
    defaults = [p.get("parameter_default") for p in params]

    @FUZZ
    @given(st.tuples(*(_strategy(p, files) for p in params)))
    def collect(args: tuple) -> None:
        if list(args) != defaults:  # all defaults is the check after the fuzz, not a fuzz
            drawn.append(args)

    collect()
    # Always, besides what hypothesis draws: every input the wrong kind at once.
    return [*drawn, *(tuple(wrong for _ in params) for wrong in ([], {}) if params)]


def _fuzz_concept(url: str, calls: list[tuple[str, tuple]]) -> dict[str, list[str]]:
    """Send one concept's calls in turn; the problems found, by endpoint."""
    problems: dict[str, list[str]] = {}
    for api_name, args in calls:
        problem = _problem(call(url, api_name, list(args), deadline_s=CALL_DEADLINE_S))
        if problem:
            problems.setdefault(api_name, []).append(f"({_short(list(args))}) -> {problem}")
    return problems


def test_every_public_endpoint_survives_hostile_input(server, endpoints, files):
    assert len(endpoints) >= 10, sorted(endpoints)  # the whole app, not one tab
    by_concept: dict[str, list[tuple[str, tuple]]] = {}
    for api_name, endpoint in sorted(endpoints.items()):
        draws = _draws(endpoint["parameters"], files)  # empty only for a lone State input
        by_concept.setdefault(api_name.split("_", 1)[0], []).extend((api_name, a) for a in draws)
    problems: dict[str, list[str]] = {}
    with ThreadPoolExecutor(len(by_concept)) as pool:
        for found in pool.map(lambda calls: _fuzz_concept(server, calls), by_concept.values()):
            problems.update(found)
    assert healthy(server), "the server stopped answering after the fuzz"
    assert not problems, "\n".join(
        f"{name} ({len(found)} of {EXAMPLES_PER_ENDPOINT}):\n  " + "\n  ".join(found[:4])
        for name, found in problems.items()
    )


def test_the_server_still_computes_after_the_fuzz(server, endpoints):
    """Every endpoint, called with its defaults (each concept's cheap ``quick`` values where a
    default is long work), still answers (not just the page); tabs side by side, each tab's
    endpoints in turn."""
    quick = {name: hints for c in load().concepts for name, hints in c.quick.items()}
    by_concept: dict[str, list[tuple[str, list]]] = {}
    for api_name, endpoint in sorted(endpoints.items()):
        hints = quick.get(api_name.lstrip("/"), {})
        args = [
            hints.get(p.get("label"), p.get("parameter_default")) for p in endpoint["parameters"]
        ]
        by_concept.setdefault(api_name.split("_", 1)[0], []).append((api_name, args))
    with ThreadPoolExecutor(len(by_concept)) as pool:
        found = list(pool.map(lambda calls: _fuzz_concept(server, calls), by_concept.values()))
    problems = {name: p for one in found for name, p in one.items()}
    assert not problems, problems
