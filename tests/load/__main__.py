"""`python -m tests.load`: the full load run (see tests/load/__init__.py)."""

from __future__ import annotations

import argparse
import json
import os
import sys

from playground.pytest_plugin import TEST_CACHE
from tests.helpers import start_server
from tests.load import run, warm_up


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.load", description=__doc__)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--warm-seconds", type=float, default=20)
    parser.add_argument("--url", help="an already running server (default: start one)")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args(argv)

    proc = None
    url = args.url
    if url is None:
        os.environ.setdefault("PLAYGROUND_CACHE", str(TEST_CACHE))  # reuse the tests' index
        # glibc gives each of Gradio's worker threads its own heap otherwise, and RSS grows
        # with them (+25 % in 2 minutes measured, against +4 % with 2): docs/reliability.md
        os.environ.setdefault("MALLOC_ARENA_MAX", "2")
        proc, url = start_server()
    try:
        endpoints = warm_up(url, args.users, args.warm_seconds)
        report = run(url, args.users, args.seconds, endpoints, pid=proc.pid if proc else None)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
    print(report.markdown())
    for failure in report.failures:
        print("FAILED", failure, file=sys.stderr)
    if args.json:
        print(json.dumps({"rows": report.rows(), "failures": report.failures}))
    growth_ok = report.rss_before_mb is None or report.rss_after_mb <= 1.10 * report.rss_before_mb
    return 0 if not report.failures and growth_ok else 1


if __name__ == "__main__":
    sys.exit(main())
