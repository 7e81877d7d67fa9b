"""The load harness's figures: a run's Report (latencies, failures, queue positions, memory and
CPU), as a markdown table and as `playground bench host` rows with their targets, and the
server's memory checked against its bounds.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from playground.bench import _row

INTERACTIVE_P95_TARGET = "ours_ms <= 2000"  # issue 19, asked with 50 visitors and 2 long jobs
RSS_LIMIT_MIB = 2048  # the server's memory after the run (issue 19)
RSS_GROWTH = 1.10  # without long jobs, whose models and optimizers are memory they need


def percentile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


def ms(seconds: float | None) -> float | None:
    """Seconds as a bench row's milliseconds; None stays None (nothing was measured)."""
    return None if seconds is None else round(seconds * 1000, 1)


@dataclass
class Report:
    users: int
    seconds: float
    think_s: float = 0.0  # the mean pause before each call
    long_jobs: tuple[str, ...] = ()  # the long jobs kept running meanwhile
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: list[str] = field(default_factory=list)
    long_finished: int = 0  # long runs that completed during this run
    long_failures: list[str] = field(default_factory=list)
    queued: int = 0  # requests that were told a queue position while they waited
    max_rank: int = 0  # the furthest back anyone was told they were
    rss_before_mb: float | None = None
    rss_after_mb: float | None = None
    # CPU seconds the run took from the server and from this harness, which shares the machine
    # with it: where the harness takes a large part, the latencies are pessimistic.
    server_cpu_s: float | None = None
    harness_cpu_s: float | None = None

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values()) + len(self.failures)

    def overall(self, q: float) -> float | None:
        """The ``q``-th percentile over every successful call, whatever its endpoint."""
        values = [t for v in self.latencies.values() for t in v]
        return percentile(values, q) if values else None

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
        if self.latencies:
            lines.append(
                f"| all | {sum(r['requests'] for r in self.rows())} | "
                f"{self.overall(50):.2f} | {self.overall(95):.2f} |"
            )
        growth = ""
        if self.rss_before_mb and self.rss_after_mb:
            change = 100 * (self.rss_after_mb / self.rss_before_mb - 1)
            growth = (
                f"RSS {self.rss_before_mb:.0f} MB before, {self.rss_after_mb:.0f} MB after "
                f"({change:+.1f}%). "
            )
        pause = f", pausing {self.think_s:g} s on average before each call" if self.think_s else ""
        long = ""
        if self.long_jobs:
            long = (
                f"Meanwhile {len(self.long_jobs)} long jobs kept running "
                f"({', '.join(self.long_jobs)}): {self.long_finished} runs finished, "
                f"{len(self.long_failures)} failed. "
            )
        cpu = f"CPU: this harness {self.harness_cpu_s:.0f} s"
        if self.server_cpu_s is not None:
            cpu += f", the server {self.server_cpu_s:.0f} s"
        lines.append(
            f"\n{self.users} users for {self.seconds:.0f} s{pause}: {self.requests} requests, "
            f"{len(self.failures)} failed; {self.queued} were told a queue position "
            f"(furthest back: {self.max_rank}). {long}{growth}{cpu}."
        )
        return "\n".join(lines)

    def bench_rows(self, device: str) -> list[dict]:
        """This run as `playground bench host` rows."""
        who = f"{self.users} API visitors, {len(self.long_jobs)} long jobs running"
        failed = len(self.failures) + len(self.long_failures)
        return [
            _row(
                "host",
                f"interactive calls, {who}: p50",
                device,
                None,
                ours_ms=ms(self.overall(50)),
            ),
            _row(
                "host",
                f"interactive calls, {who}: p95",
                device,
                INTERACTIVE_P95_TARGET,
                ours_ms=ms(self.overall(95)),
            ),
            _row("host", f"failed calls, {who}", device, "value <= 0", value=failed, unit="calls"),
            _row(
                "host",
                f"long runs finished, {who}",
                device,
                None,
                value=self.long_finished,
                unit="runs",
            ),
        ]


def memory_ok(report: Report) -> bool:
    """Whether the server's memory stayed bounded: within RSS_LIMIT_MIB, and grew no more than
    RSS_GROWTH when no long jobs ran; True when it was not read."""
    if report.rss_before_mb is None or report.rss_after_mb is None:
        return True
    grew = not report.long_jobs and report.rss_after_mb > RSS_GROWTH * report.rss_before_mb
    return report.rss_after_mb <= RSS_LIMIT_MIB and not grew


def memory_rows(reports: list[Report], device: str) -> list[dict]:
    """The server's memory before the first run and after the last, as bench rows."""
    return [
        _row(
            "host",
            "server RSS before the load",
            device,
            None,
            value=round(reports[0].rss_before_mb),
            unit="MiB",
        ),
        _row(
            "host",
            "server RSS after the load",
            device,
            f"value <= {RSS_LIMIT_MIB}",
            value=round(reports[-1].rss_after_mb),
            unit="MiB",
        ),
    ]
