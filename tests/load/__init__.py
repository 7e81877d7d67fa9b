"""A bounded load harness: simulated users (gradio_client threads) mixing every concept's main
endpoints against a live server, recording failures, the queue positions users were told,
p50/p95 latency per endpoint and the server's memory before and after; optionally while a few
long jobs (the concepts' declared training runs, at their defaults) keep running, and with
each tab's first view timed in Chromium against a bare page (tests/load/browser.py). The
figures, as a table and as bench rows, are tests/load/report.py's.

    python -m tests.load                      # 20 users for 120 s against a server it starts
    python -m tests.load --users 5 --seconds 20 --url http://127.0.0.1:7860
    python -m tests.load --users 10 50 --think-seconds 2 --long-jobs 2 --first-view

Not collected by pytest (no test_ prefix); tests/test_hardening_load.py runs a short version.
"""

from __future__ import annotations

import contextlib
import os
import random
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import psutil
from gradio_client import Client
from gradio_client.utils import Status

from tests.load.report import Report

# Long jobs (training, many-step sampling, timing sweeps) are not what 20 people clicking
# around do at once: besides those the concepts declare (Concept.long), these names, some of
# which are slow without being declared long (a timing sweep, a side-by-side comparison).
LONG_JOBS = ("_train", "_qlora", "_text_to_image", "_compare", "_cache_timing", "_transfer")
PER_CONCEPT = 2  # main endpoints per concept: the tab's first (on load) and its next
RESULT_TIMEOUT_S = 300
POLL_S = 0.05
RETRY_S = 1.0  # before restarting a long job that failed, so a refusal cannot spin
IDLE_PERCENT = 10.0  # a server using less of one core than this has settled
SETTLE_S = 120.0  # the longest we wait for it to settle


def _client(url: str) -> Client:
    """A simulated visitor's client, as light on this machine's CPU as it can be made: the
    harness shares the cores with the server it measures (profiled: most of its CPU went to
    loading the CA certificates for every call, needless over plain http to 127.0.0.1, and to
    downloading every output file, which a browser fetches only when the visitor clicks)."""
    # A busy server may take a while to send its config: wait as long as for a result.
    return Client(
        url,
        verbose=False,
        httpx_kwargs={"timeout": RESULT_TIMEOUT_S},
        ssl_verify=False,
        download_files=False,
    )


def declared_long(concepts: Iterable[Any]) -> list[str]:
    """The endpoints ``concepts`` declare long (Concept.long), in order, as API names."""
    return [f"/{name}" for concept in concepts for name in concept.long]


def _defaults(endpoint: dict) -> list:
    return [p.get("parameter_default") for p in endpoint["parameters"]]


def main_endpoints(url: str, long: Iterable[str] = ()) -> dict[str, list]:
    """The first PER_CONCEPT endpoints of each concept (view_api order) that answer their
    default arguments (not those needing an earlier step's result), with those arguments;
    never a long job (``long``, or a name in LONG_JOBS)."""
    client = _client(url)
    api = client.view_api(return_format="dict", print_info=False)
    chosen: dict[str, list] = {}
    per_concept: dict[str, int] = defaultdict(int)
    long = set(long)
    for name, endpoint in api["named_endpoints"].items():
        concept = name.lstrip("/").split("_", 1)[0]
        if name in long or name.endswith(LONG_JOBS) or per_concept[concept] >= PER_CONCEPT:
            continue
        args = _defaults(endpoint)
        try:
            client.predict(*args, api_name=name)  # also warms it: models load, caches fill
        except Exception:  # e.g. "train an adapter first": not a first click
            continue
        per_concept[concept] += 1
        chosen[name] = args
    client.close()
    return chosen


def spread_over_concepts(names: Iterable[str], count: int) -> list[str]:
    """``count`` of the API ``names``, each concept's first before any concept's second."""
    firsts, rest, seen = [], [], set()
    for name in names:
        concept = name.lstrip("/").split("_", 1)[0]
        (rest if concept in seen else firsts).append(name)
        seen.add(concept)
    return [*firsts, *rest][:count]


def long_jobs(url: str, long: Iterable[str], count: int) -> dict[str, list]:
    """``count`` of the ``long`` endpoints, spread over the concepts, with their default
    arguments: real runs, not the contract's quick ones."""
    client = _client(url)
    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    client.close()
    chosen = spread_over_concepts((name for name in long if name in api), count)
    return {name: _defaults(api[name]) for name in chosen}


def cpu_s(pid: int) -> float:
    """CPU seconds (user and system) a process has used so far, its children left out: the
    harness's own children are the servers it measures."""
    return sum(psutil.Process(pid).cpu_times()[:2])


def rss_mb(pid: int) -> float:
    """Resident memory of the server and its children, in MiB."""
    process = psutil.Process(pid)
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):  # a child may exit meanwhile
            total += child.memory_info().rss
    return total / 2**20


def settle(pids: Iterable[int], timeout_s: float = SETTLE_S) -> None:
    """Wait, at most ``timeout_s``, until each server uses less than IDLE_PERCENT of one core
    over a second: its background warm-up or a last visitor's work is done, and a measurement
    starts from a warm, idle server."""
    processes = [psutil.Process(pid) for pid in pids]
    for process in processes:
        process.cpu_percent()  # starts the count the next call reads
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        time.sleep(1)
        if max(process.cpu_percent() for process in processes) < IDLE_PERCENT:
            return


class LongJobs:
    """Long jobs kept running while the load runs: each endpoint by a visitor of its own (a
    client, so its own session), restarted as soon as it finishes, cancelled on leaving (a
    streamed one stops at its next step; any other runs to its end on the server)."""

    def __init__(self, url: str, jobs: dict[str, list]):
        self.url = url
        self.jobs = jobs
        self.finished = 0  # runs that completed
        self.failures: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._keep_running, args=item, daemon=True)
            for item in jobs.items()
        ]

    def __enter__(self) -> LongJobs:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _fail(self, text: str) -> None:
        with self._lock:
            self.failures.append(text)

    def _keep_running(self, name: str, args: list) -> None:
        try:
            client = _client(self.url)
        except Exception as exc:
            self._fail(f"{name}: connect: {type(exc).__name__}: {exc}")
            return
        try:
            while not self._stop.is_set():
                job = client.submit(*args, api_name=name)
                while not job.done() and not self._stop.is_set():
                    time.sleep(POLL_S)
                if not job.done():
                    job.cancel()
                    return
                try:
                    job.result(timeout=RESULT_TIMEOUT_S)
                except Exception as exc:  # a refusal too: one run per visitor, and it was ours
                    self._fail(f"{name}: {type(exc).__name__}: {str(exc)[:200]}")
                    self._stop.wait(RETRY_S)
                    continue
                with self._lock:
                    self.finished += 1
        finally:
            client.close()


def _one_request(client: Client, name: str, args: list, report: Report, lock: threading.Lock):
    start = time.perf_counter()
    ranks = []
    try:
        job = client.submit(*args, api_name=name)
        while not job.done():
            status = job.status()
            if status.code == Status.IN_QUEUE and status.rank is not None:
                ranks.append(status.rank)
            time.sleep(POLL_S)
        job.result(timeout=RESULT_TIMEOUT_S)
    except Exception as exc:  # any failure counts, a gr.Error included: the args are valid
        with lock:
            report.failures.append(f"{name}: {type(exc).__name__}: {str(exc)[:200]}")
        return
    with lock:
        report.latencies[name].append(time.perf_counter() - start)
        if ranks and max(ranks) > 0:
            report.queued += 1
            report.max_rank = max(report.max_rank, max(ranks))


def run(
    url: str,
    users: int,
    seconds: float,
    endpoints: dict[str, list],
    pid: int | None = None,
    seed: int = 0,
    think_s: float = 0.0,
    long: LongJobs | None = None,
) -> Report:
    """``users`` threads, each its own client, each calling a random one of ``endpoints`` in
    turn (seeded) until ``seconds`` have passed; a request started before the end is waited
    for. Before each call a user pauses for a time drawn from [think_s / 2, 3 think_s / 2]
    (reading the last answer; 0: back to back). The server's memory is read before and after
    when its ``pid`` is given; what ``long`` jobs did meanwhile is counted."""
    report = Report(users, seconds, think_s, tuple(long.jobs) if long else ())
    lock = threading.Lock()
    names = sorted(endpoints)
    marks: dict[str, float] = {}  # where the run starts from, once every user has connected

    def begin() -> None:
        if pid is not None:
            report.rss_before_mb = rss_mb(pid)
            marks["server_cpu"] = cpu_s(pid)
        if long is not None:
            marks.update(long_finished=long.finished, long_failed=len(long.failures))
        marks["harness_cpu"] = cpu_s(os.getpid())
        marks["stop"] = time.monotonic() + seconds

    # A client's set-up parses the whole API (about 0.4 s of CPU here): done by every user
    # before the clock starts, as it is not what a click costs.
    connected = threading.Barrier(users, action=begin)

    def user(i: int) -> None:
        client = None
        try:
            client = _client(url)
        except Exception as exc:  # a user who cannot even connect is a failure too
            with lock:
                report.failures.append(f"connect: {type(exc).__name__}: {exc}")
        connected.wait()
        if client is None:
            return
        rng = random.Random(seed * 1000 + i)
        try:
            while True:
                pause = think_s * rng.uniform(0.5, 1.5) if think_s else 0.0
                if time.monotonic() + pause >= marks["stop"]:
                    break
                time.sleep(pause)
                name = rng.choice(names)
                _one_request(client, name, endpoints[name], report, lock)
        finally:
            client.close()

    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if long is not None:
        report.long_finished = long.finished - int(marks["long_finished"])
        report.long_failures = long.failures[int(marks["long_failed"]) :]
    report.harness_cpu_s = cpu_s(os.getpid()) - marks["harness_cpu"]
    if pid is not None:
        report.server_cpu_s = cpu_s(pid) - marks["server_cpu"]
        report.rss_after_mb = rss_mb(pid)
    return report


def warm_up(url: str, users: int, seconds: float, long: Iterable[str] = ()) -> dict[str, list]:
    """The main endpoints, each called once (see there), then a short burst of load: what a
    measurement of a warm server starts from."""
    endpoints = main_endpoints(url, long)
    run(url, users, seconds, endpoints)
    return endpoints
