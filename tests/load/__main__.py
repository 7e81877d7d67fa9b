"""`python -m tests.load`: the full load run (see tests/load/__init__.py)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys

from playground import devices
from playground.bench import serving
from playground.host import load
from playground.pytest_plugin import TEST_CACHE
from tests.load import (
    LongJobs,
    bare,
    browser,
    declared_long,
    long_jobs,
    run,
    settle,
    warm_up,
)
from tests.load.report import memory_ok, memory_rows

OURS = [sys.executable, "-m", "playground", "serve", "--port"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.load", description=__doc__)
    parser.add_argument(
        "--users", type=int, nargs="+", default=[20], help="simulated visitors; several: a run each"
    )
    parser.add_argument("--seconds", type=float, default=120, help="of load, per run")
    parser.add_argument("--warm-seconds", type=float, default=20)
    parser.add_argument(
        "--think-seconds", type=float, default=0, help="mean pause before each call (0: none)"
    )
    parser.add_argument(
        "--long-jobs", type=int, default=0, help="long jobs kept running at their defaults"
    )
    parser.add_argument(
        "--first-view",
        action="store_true",
        help="first time each tab's first view in Chromium against a bare Gradio page",
    )
    parser.add_argument("--url", help="an already running server (default: start one)")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.add_argument(
        "--rows", action="store_true", help="print `playground bench` rows only (JSON lines)"
    )
    args = parser.parse_args(argv)
    if args.first_view and args.url:
        parser.error("--first-view starts both servers itself, the same way: leave out --url")
    out = sys.stderr if args.rows else sys.stdout  # --rows: stdout carries the rows alone

    concepts = load().concepts
    long = declared_long(concepts)
    with contextlib.ExitStack() as stack:
        pid = None
        url = args.url
        if url is None:
            os.environ.setdefault("PLAYGROUND_CACHE", str(TEST_CACHE))  # reuse the tests' index
            # glibc gives each of Gradio's worker threads its own heap otherwise, and RSS grows
            # with them (+25 % in 2 minutes measured, against +4 % with 2): docs/reliability.md
            os.environ.setdefault("MALLOC_ARENA_MAX", "2")
            proc, url, _ = stack.enter_context(serving(OURS))
            pid = proc.pid
        views = None
        if args.first_view:
            tabs = [concept.id for concept in concepts]
            with serving([*bare.ARGV, ",".join(tabs)]) as (bare_proc, bare_url, _):
                views = browser.measure(url, bare_url, tabs, [pid, bare_proc.pid])
            print(views.markdown(), file=out)
        endpoints = warm_up(url, args.users[0], args.warm_seconds, long)
        if pid is not None:
            settle([pid])
        with LongJobs(url, long_jobs(url, long, args.long_jobs)) as running:
            reports = [
                run(
                    url,
                    users,
                    args.seconds,
                    endpoints,
                    pid,
                    think_s=args.think_seconds,
                    long=running,
                )
                for users in args.users
            ]

    for report in reports:
        print(report.markdown(), file=out)
        for failure in [*report.failures, *report.long_failures]:
            print("FAILED", failure, file=sys.stderr)
        if args.json:
            print(
                json.dumps(
                    {"users": report.users, "rows": report.rows(), "failures": report.failures}
                ),
                file=out,
            )
    if args.rows:
        device = devices.preferred()
        rows = views.rows(device) if views else []
        rows += [row for report in reports for row in report.bench_rows(device)]
        rows += memory_rows(reports, device) if pid is not None else []
        for row in rows:
            print(json.dumps(row), flush=True)
    failed = any(r.failures or r.long_failures for r in reports) or (views and views.missing()[0])
    return 1 if failed or not all(map(memory_ok, reports)) else 0


if __name__ == "__main__":
    sys.exit(main())
