"""A bounded load harness: simulated users (gradio_client threads) mixing every concept's main
endpoints against a live server, recording failures, the queue positions users were told,
p50/p95 latency per endpoint and the server's memory before and after.

    python -m tests.load                      # 20 users for 120 s against a server it starts
    python -m tests.load --users 5 --seconds 20 --url http://127.0.0.1:7860

Not collected by pytest (no test_ prefix); tests/test_hardening_load.py runs a short version.
"""

from __future__ import annotations

import contextlib
import random
import statistics
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

import psutil
from gradio_client import Client
from gradio_client.utils import Status

# Long jobs (training, many-step sampling, timing sweeps) are not what 20 people clicking
# around do at once; each tab's own caps bound them, and the fault tests run them.
LONG_JOBS = ("_train", "_qlora", "_text_to_image", "_compare", "_cache_timing", "_transfer")
PER_CONCEPT = 2  # main endpoints per concept: the tab's first (on load) and its next
RESULT_TIMEOUT_S = 300
POLL_S = 0.05


def _client(url: str) -> Client:
    # A busy server may take a while to send its config: wait as long as for a result.
    return Client(url, verbose=False, httpx_kwargs={"timeout": RESULT_TIMEOUT_S})


def main_endpoints(url: str) -> dict[str, list]:
    """The first PER_CONCEPT endpoints of each concept (view_api order) that answer their
    default arguments (not those needing an earlier step's result), with those arguments."""
    client = _client(url)
    api = client.view_api(return_format="dict", print_info=False)
    chosen: dict[str, list] = {}
    per_concept: dict[str, int] = defaultdict(int)
    for name, endpoint in api["named_endpoints"].items():
        concept = name.lstrip("/").split("_", 1)[0]
        if name.endswith(LONG_JOBS) or per_concept[concept] >= PER_CONCEPT:
            continue
        args = [p.get("parameter_default") for p in endpoint["parameters"]]
        try:
            client.predict(*args, api_name=name)  # also warms it: models load, caches fill
        except Exception:  # e.g. "train an adapter first": not a first click
            continue
        per_concept[concept] += 1
        chosen[name] = args
    return chosen


def rss_mb(pid: int) -> float:
    """Resident memory of the server and its children, in MB."""
    process = psutil.Process(pid)
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):  # a child may exit meanwhile
            total += child.memory_info().rss
    return total / 2**20


def percentile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


@dataclass
class Report:
    users: int
    seconds: float
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: list[str] = field(default_factory=list)
    queued: int = 0  # requests that were told a queue position while they waited
    max_rank: int = 0  # the furthest back anyone was told they were
    rss_before_mb: float | None = None
    rss_after_mb: float | None = None

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values()) + len(self.failures)

    def rows(self) -> list[dict]:
        return [
            {
                "endpoint": name,
                "requests": len(v),
                "p50_s": round(percentile(v, 50), 3),
                "p95_s": round(percentile(v, 95), 3),
            }
            for name, v in sorted(self.latencies.items())
        ]

    def markdown(self) -> str:
        lines = ["| endpoint | requests | p50 (s) | p95 (s) |", "|---|---:|---:|---:|"]
        lines += [
            f"| `{r['endpoint']}` | {r['requests']} | {r['p50_s']:.2f} | {r['p95_s']:.2f} |"
            for r in self.rows()
        ]
        growth = ""
        if self.rss_before_mb and self.rss_after_mb:
            change = 100 * (self.rss_after_mb / self.rss_before_mb - 1)
            growth = (
                f"RSS {self.rss_before_mb:.0f} MB before, {self.rss_after_mb:.0f} MB after "
                f"({change:+.1f}%). "
            )
        lines.append(
            f"\n{self.users} users for {self.seconds:.0f} s: {self.requests} requests, "
            f"{len(self.failures)} failed; {self.queued} were told a queue position "
            f"(furthest back: {self.max_rank}). {growth}"
        )
        return "\n".join(lines)


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
) -> Report:
    """``users`` threads, each its own client, each calling a random one of ``endpoints`` in
    turn (seeded) until ``seconds`` have passed; a request started before the end is waited
    for. The server's memory is read before and after when its ``pid`` is given."""
    report = Report(users, seconds)
    lock = threading.Lock()
    if pid is not None:
        report.rss_before_mb = rss_mb(pid)
    stop = time.monotonic() + seconds
    names = sorted(endpoints)

    def user(i: int) -> None:
        try:
            client = _client(url)
        except Exception as exc:  # a user who cannot even connect is a failure too
            with lock:
                report.failures.append(f"connect: {type(exc).__name__}: {exc}")
            return
        rng = random.Random(seed * 1000 + i)
        while time.monotonic() < stop:
            name = rng.choice(names)
            _one_request(client, name, endpoints[name], report, lock)

    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if pid is not None:
        report.rss_after_mb = rss_mb(pid)
    return report


def warm_up(url: str, users: int, seconds: float) -> dict[str, list]:
    """The main endpoints, each called once (see there), then a short burst of load: what a
    measurement of a warm server starts from."""
    endpoints = main_endpoints(url)
    run(url, users, seconds, endpoints)
    return endpoints
